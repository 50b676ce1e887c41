/**
 * Mutual authentication of a broker link by a shared cluster secret, by
 * challenge and response: the secret never crosses the wire, and each side
 * proves it to the other over fresh nonces from both, bound to the claimed
 * member ids and to the direction (so a response cannot be reflected back).
 *
 *   dialer → listener  { t: 'hello', id, nonce: a, pv }
 *   listener → dialer  { t: 'challenge', id, nonce: b, pv, proof: H(secret, 'listener', a, b, listenerId, dialerId) }
 *   dialer → listener  { t: 'proof', proof: H(secret, 'dialer', a, b, dialerId, listenerId) }
 *
 * H is HMAC-SHA256; proofs are compared in constant time. `pv` is the peer protocol each side
 * speaks: a link between brokers of different ones is refused by either side (below).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The peer protocol: the shapes of everything brokers send each other over links — the core's
 * messages and the mesh's payloads. Brokers of different ones would misread each other (an older
 * broker reads no command batch, and no event that travels only as its encoded bytes), so a
 * link is refused unless both speak the same: a mesh runs one peer protocol (docs/mesh.md,
 * "Upgrading"). Brokers before 3 sent none.
 *   1: one topic command per multicast
 *   2: commands taken in one pass travel as one batch (`{ commands }`)
 *   3: a publish's payload travels as its encoded bytes (`encoded`), an event's without its value
 *   4: a broker takes over the stream of a group it publishes most of (`takeOver`, core.md), which
 *      a broker before 4 would not follow: it would go on ordering the stream elsewhere
 *   5: a broker claims a group whose traffic is mostly its own (`claim`/`unclaim` controls, and
 *      an owner's `unhold` refused), which changes the group's owners: a broker before 5 would
 *      compute other owners, accept other `unhold`s, and its table would drift from the others'
 */
export const peerProtocol = 5;

/** Why a peer's `pv` is refused, or undefined when it speaks ours. */
export function peerProtocolRefusal(pv: unknown): string | undefined {
  if (pv === peerProtocol) return undefined;
  const theirs = Number.isSafeInteger(pv) ? `peer protocol ${String(pv)}` : 'no peer protocol (a broker older than peer protocol 3)';
  return `the peer speaks ${theirs}; this broker speaks peer protocol ${peerProtocol}: a mesh runs one (docs/mesh.md, "Upgrading")`;
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function proof(secret: string, role: 'dialer' | 'listener', dialerNonce: string, listenerNonce: string, self: string, peer: string): string {
  return createHmac('sha256', secret).update([role, dialerNonce, listenerNonce, self, peer].join('\n')).digest('base64url');
}

export function proofMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}

export function isNonce(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(v);
}

export function isMemberIdLike(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9_.:-]{1,128}#[A-Za-z0-9]{1,32}$/.test(v);
}
