/**
 * Topic names and wildcard patterns, as NATS users know them.
 *
 * A name is dot-separated tokens of `[A-Za-z0-9_:-]`, at most 255 bytes.
 * Names starting with `$` are reserved for the system. A pattern may use `*`
 * for exactly one token and `>` (last token only) for one or more tokens.
 */

export const topicBytesMax = 255;

export type TopicCheck =
  | { ok: true; wildcard: boolean }
  | { ok: false; reason: 'empty' | 'too-long' | 'bad-token' | 'reserved' | 'bad-wildcard' };

// Results are shared constants: the check runs on every publish and allocates nothing.
const concrete: TopicCheck = Object.freeze({ ok: true, wildcard: false });
const pattern: TopicCheck = Object.freeze({ ok: true, wildcard: true });
const refused = (reason: 'empty' | 'too-long' | 'bad-token' | 'reserved' | 'bad-wildcard'): TopicCheck => Object.freeze({ ok: false, reason });
const empty = refused('empty');
const tooLong = refused('too-long');
const badToken = refused('bad-token');
const reserved = refused('reserved');
const badWildcard = refused('bad-wildcard');

/** `[A-Za-z0-9_:-]`, by character code. */
function tokenChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 58) || c === 95 || c === 45;
}

/**
 * Checks a subscription pattern (wildcards allowed) or, with
 * `wildcards: false`, a concrete topic name. One pass over the characters.
 */
export function checkTopic(name: unknown, wildcards: boolean, lengthMax = topicBytesMax): TopicCheck {
  if (typeof name !== 'string' || name.length === 0) return empty;
  // Names are ASCII by construction, so length in bytes equals length in chars
  // for every name that passes the token check below.
  if (name.length > lengthMax) return tooLong;
  if (name.charCodeAt(0) === 36 /* $ */) return reserved;
  let wildcard = false;
  let tokenStart = 0;
  const n = name.length;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : name.charCodeAt(i);
    if (c !== 46 /* . */) continue;
    const length = i - tokenStart;
    if (length === 0) return badToken;
    const first = name.charCodeAt(tokenStart);
    if (length === 1 && (first === 42 /* * */ || first === 62 /* > */)) {
      if (!wildcards) return badWildcard;
      if (first === 62 && i !== n) return badWildcard;
      wildcard = true;
    } else {
      for (let j = tokenStart; j < i; j++) if (!tokenChar(name.charCodeAt(j))) return badToken;
    }
    tokenStart = i + 1;
  }
  return wildcard ? pattern : concrete;
}

/**
 * System topics: published by brokers only, subscribed to like any topic (exact, with state; a
 * wildcard subscription never receives them). `$rooms` is the lobby of rooms
 * (docs/game-rooms.md); `$sys` is the brokers' live figures for the admin page (docs/admin.md),
 * granted only by name. Other `$` names stay reserved.
 */
export const systemTopics: ReadonlySet<string> = new Set(['$rooms', '$sys']);

/** A topic name a client may subscribe to: a valid name or pattern, or a system topic. */
export function checkSubscribeTopic(name: unknown, lengthMax = topicBytesMax): TopicCheck {
  const check = checkTopic(name, true, lengthMax);
  return !check.ok && check.reason === 'reserved' && systemTopics.has(name as string) ? concrete : check;
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
