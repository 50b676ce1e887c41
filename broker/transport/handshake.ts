/**
 * Mutual authentication of a broker link by a shared cluster secret, by
 * challenge and response: the secret never crosses the wire, and each side
 * proves it to the other over fresh nonces from both, bound to the claimed
 * member ids and to the direction (so a response cannot be reflected back).
 *
 *   dialer → listener  { t: 'hello', id, nonce: a }
 *   listener → dialer  { t: 'challenge', id, nonce: b, proof: H(secret, 'listener', a, b, listenerId, dialerId) }
 *   dialer → listener  { t: 'proof', proof: H(secret, 'dialer', a, b, dialerId, listenerId) }
 *
 * H is HMAC-SHA256; proofs are compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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
