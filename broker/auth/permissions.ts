/**
 * What a client may do, as topic patterns per action: publish to, subscribe
 * to (state, history and live messages alike), and see (or appear in) the
 * presence set of. A request for a topic is allowed when one pattern matches
 * it; a request for a pattern (a wildcard subscription) only when one
 * granted pattern covers every topic it could match — so a wildcard can never
 * reach further than the grants it is made of.
 *
 * The admin topic `$sys` (the brokers' live figures, docs/admin.md) is the one exception to
 * matching: only a grant that names it (`"subscribe": ["$sys"]`) allows it — `>` does not — and
 * the API key and anonymous mode without an API key hold that grant (`adminPermissions`).
 */
import { matchTopic } from '../../client/protocol/index.js';

export interface Permissions {
  publish: readonly string[];
  subscribe: readonly string[];
  presence: readonly string[];
}

export type Action = keyof Permissions;

/** Anonymous local mode: everything but the admin topic. */
export const allPermissions: Permissions = { publish: ['>'], subscribe: ['>'], presence: ['>'] };

/** Topics allowed only by a grant that names them (wildcard grants do not reach them). */
export const adminTopic = '$sys';

/** The API key, and anonymous mode without one: everything, the admin topic included. */
export const adminPermissions: Permissions = { publish: ['>'], subscribe: ['>', adminTopic], presence: ['>'] };

export const noPermissions: Permissions = { publish: [], subscribe: [], presence: [] };

/** May `topicOrPattern` be used for `action`? */
export function allows(permissions: Permissions, action: Action, topicOrPattern: string): boolean {
  if (topicOrPattern === adminTopic) return permissions[action].includes(adminTopic);
  const wildcard = topicOrPattern.split('.').some((t) => t === '*' || t === '>');
  return permissions[action].some((granted) => (wildcard ? covers(granted, topicOrPattern) : matchTopic(granted, topicOrPattern)));
}

/** Does every topic `requested` (a pattern) matches also match `granted`? */
export function covers(granted: string, requested: string): boolean {
  const g = granted.split('.');
  const r = requested.split('.');
  for (let i = 0; i < g.length; i++) {
    const gt = g[i]!;
    // `>` takes one or more tokens: whatever follows in the request is at least one token.
    if (gt === '>') return i < r.length;
    const rt = r[i];
    if (rt === undefined || rt === '>') return false;
    if (gt === '*') continue;
    if (rt === '*' || rt !== gt) return false;
  }
  return g.length === r.length;
}
