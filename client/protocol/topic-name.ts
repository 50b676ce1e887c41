/**
 * Topic names and wildcard patterns, as NATS users know them.
 *
 * A name is dot-separated tokens of `[A-Za-z0-9_:-]`, at most 255 bytes.
 * Names starting with `$` are reserved for the system. A pattern may use `*`
 * for exactly one token and `>` (last token only) for one or more tokens.
 */

export const topicBytesMax = 255;

const tokenRe = /^[A-Za-z0-9_:-]+$/;

export type TopicCheck =
  | { ok: true; wildcard: boolean }
  | { ok: false; reason: 'empty' | 'too-long' | 'bad-token' | 'reserved' | 'bad-wildcard' };

/**
 * Checks a subscription pattern (wildcards allowed) or, with
 * `wildcards: false`, a concrete topic name.
 */
export function checkTopic(name: unknown, wildcards: boolean, lengthMax = topicBytesMax): TopicCheck {
  if (typeof name !== 'string' || name.length === 0) return { ok: false, reason: 'empty' };
  // Names are ASCII by construction, so length in bytes equals length in chars
  // for every name that passes the token check below.
  if (name.length > lengthMax) return { ok: false, reason: 'too-long' };
  if (name.charCodeAt(0) === 36 /* $ */) return { ok: false, reason: 'reserved' };
  const tokens = name.split('.');
  let wildcard = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '*' || token === '>') {
      if (!wildcards) return { ok: false, reason: 'bad-wildcard' };
      if (token === '>' && i !== tokens.length - 1) return { ok: false, reason: 'bad-wildcard' };
      wildcard = true;
      continue;
    }
    if (!tokenRe.test(token)) return { ok: false, reason: 'bad-token' };
  }
  return { ok: true, wildcard };
}

/** Whether concrete `topic` matches `pattern` (which may hold `*` and `>`). */
export function matchTopic(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i]!;
    if (token === '>') return t.length > i;
    if (i >= t.length) return false;
    if (token !== '*' && token !== t[i]) return false;
  }
  return p.length === t.length;
}

export function isWildcard(pattern: string): boolean {
  return pattern.split('.').some((t) => t === '*' || t === '>');
}
