/**
 * What a connection's identity allows, and the life of its token: every
 * request is checked against the permissions its token granted (a topic
 * matched by a grant, a wildcard only where a grant covers it); an expiring
 * token is announced (`expired`), and a connection that does not `refresh`
 * within the grace period is closed with TokenExpired. A refresh must be for
 * the same subject and keep every subscription the connection holds allowed.
 */
import { CloseCode, ErrorCode, checkSubscribeTopic, checkTopic, type ClientRequest } from '../../client/protocol/index.js';
import { allows, type Identity } from '../auth/index.js';

export type Refusal = { code: ErrorCode; message: string };

/** Why `identity` may not make `request`, if it may not (invalid topic names are the topic layer's to refuse). */
export function refusalOf(identity: Identity, request: ClientRequest): Refusal | undefined {
  if (request.type !== 'sub' && request.type !== 'pub') return undefined;
  if (!(request.type === 'sub' ? checkSubscribeTopic(request.topic) : checkTopic(request.topic, false)).ok) return undefined;
  const shown = request.topic.slice(0, 64);
  if (request.type === 'pub') {
    return allows(identity.permissions, 'publish', request.topic) ? undefined : { code: ErrorCode.Forbidden, message: `not allowed to publish to ${shown}` };
  }
  if (!allows(identity.permissions, 'subscribe', request.topic)) return { code: ErrorCode.Forbidden, message: `not allowed to subscribe to ${shown}` };
  if (request.presence !== undefined && !allows(identity.permissions, 'presence', request.topic)) {
    return { code: ErrorCode.Forbidden, message: `not allowed to see presence of ${shown}` };
  }
  return undefined;
}

/** Whether a refreshed identity may replace `current` for a connection holding `subscriptions` (topic or pattern, with presence or not). */
export function refreshRefusal(current: Identity, next: Identity, subscriptions: ReadonlyArray<[string, { watchesPresence: boolean } | undefined]>): Refusal | undefined {
  if (next.sub !== current.sub) return { code: ErrorCode.Forbidden, message: 'a refreshed token must be for the same subject' };
  for (const [topic, exact] of subscriptions) {
    if (!allows(next.permissions, 'subscribe', topic) || (exact?.watchesPresence === true && !allows(next.permissions, 'presence', topic))) {
      return { code: ErrorCode.Forbidden, message: `the new token does not allow the subscription to ${topic.slice(0, 64)}; unsubscribe first` };
    }
  }
  return undefined;
}

/** Longest delay a Node timer takes (about 24.8 days); later expiries re-arm. */
const timerMaxMs = 2 ** 31 - 1;

/** The expiry and grace timers of one connection's token. */
export class TokenTimers {
  private expiry: NodeJS.Timeout | undefined;
  private grace: NodeJS.Timeout | undefined;

  constructor(
    private readonly graceMs: number,
    private readonly onExpired: (graceMs: number) => void,
    private readonly onGraceOver: (code: number, reason: string) => void,
  ) {}

  /** Arms for `identity` (a refresh calls it again; timers of the old token go). */
  arm(identity: Identity, now = Date.now()): void {
    this.clear();
    if (identity.expiresAt === undefined) return;
    const delay = Math.max(0, identity.expiresAt - now);
    this.expiry = setTimeout(() => {
      if (delay > timerMaxMs) return this.arm(identity);
      this.onExpired(this.graceMs);
      this.grace = setTimeout(() => this.onGraceOver(CloseCode.TokenExpired, 'token expired and not refreshed'), this.graceMs);
      this.grace.unref();
    }, Math.min(delay, timerMaxMs));
    this.expiry.unref();
  }

  clear(): void {
    clearTimeout(this.expiry);
    clearTimeout(this.grace);
  }
}

/** What of a session its token's life touches (Session, without importing it: it imports TokenTimers). */
export interface TokenHolder {
  identity: Identity;
  tokens: TokenTimers | undefined;
  send(message: { type: 'expired'; graceMs: number }): void;
  close(code: number, reason: string): void;
}

/** Gives a session its identity (at hello, or a refresh) and arms its token's expiry. */
export function armIdentity(session: TokenHolder, identity: Identity, graceMs: number): void {
  session.identity = identity;
  if (identity.expiresAt === undefined && session.tokens === undefined) return;
  session.tokens ??= new TokenTimers(
    graceMs,
    (grace) => session.send({ type: 'expired', graceMs: grace }),
    (code, reason) => session.close(code, reason),
  );
  session.tokens.arm(identity);
}
