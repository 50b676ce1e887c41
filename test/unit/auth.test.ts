// Proves client authentication and permissions: which patterns cover which requests (a wildcard
// never reaches past its grants), and JWT verification with jose — HS256, RS256, ES256, a JWKS —
// refusing alg none, algorithm confusion, forged signatures, expired or not-yet-valid tokens,
// the wrong issuer or audience, and malformed permission claims, with a leeway on the clock.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, importPKCS8 } from 'jose';
import { describe, expect, it } from 'vitest';
import { JwtVerifier, allows, covers, type Permissions } from '../../broker/auth/index.js';

describe('permissions', () => {
  it.each([
    ['>', 'a', true],
    ['>', 'a.*', true],
    ['>', '>', true],
    ['room.>', 'room.1', true],
    ['room.>', 'room.*', true],
    ['room.>', 'room.>', true],
    ['room.>', 'room', false],
    ['room.>', '>', false],
    ['room.>', 'other.>', false],
    ['room.*', 'room.*', true],
    ['room.*', 'room.1', true],
    ['room.*', 'room.>', false],
    ['room.*', 'room.1.x', false],
    ['room.*', '*.1', false],
    ['room.1', 'room.*', false],
    ['room.1', 'room.1', true],
    ['*.chat', 'game.chat', true],
    ['*.chat', '*.chat', true],
    ['*.chat', '*.*', false],
    ['a.*.c', 'a.*.c', true],
    ['a.*.c', 'a.b.>', false],
  ])('%s covers %s: %s', (granted, requested, expected) => {
    expect(covers(granted, requested)).toBe(expected);
  });

  it('allows a topic matched by a grant, a pattern only when covered, per action', () => {
    const p: Permissions = { publish: ['room.1'], subscribe: ['room.*', 'news.>'], presence: [] };
    expect(allows(p, 'subscribe', 'room.7')).toBe(true);
    expect(allows(p, 'subscribe', 'room.7.x')).toBe(false);
    expect(allows(p, 'subscribe', 'news.a.b')).toBe(true);
    expect(allows(p, 'subscribe', 'news.>')).toBe(true);
    expect(allows(p, 'subscribe', '>')).toBe(false);
    expect(allows(p, 'subscribe', 'room.>')).toBe(false);
    expect(allows(p, 'publish', 'room.1')).toBe(true);
    expect(allows(p, 'publish', 'room.2')).toBe(false);
    expect(allows(p, 'presence', 'room.1')).toBe(false);
  });
});

const secret = 'a-test-secret-of-at-least-32-characters!';
const claims = { chorus: { publish: ['room.*'], subscribe: ['room.>'], presence: ['room.*'] } };

async function hs256(payload: Record<string, unknown>, key = secret, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(new TextEncoder().encode(key));
}

describe('JWT verification', () => {
  it('accepts a good HS256 token and reads sub, permissions and expiry', async () => {
    const v = await JwtVerifier.create({ secret, leewaySeconds: 5 });
    const exp = Math.floor(Date.now() / 1000) + 60;
    const result = await v.verify(await hs256({ ...claims, sub: 'alice', exp }));
    expect(result).toEqual({ ok: true, identity: { credential: 'token', sub: 'alice', permissions: { publish: ['room.*'], subscribe: ['room.>'], presence: ['room.*'] }, expiresAt: exp * 1000 } });
  });

  it('refuses forged, expired, early, anonymous, none-signed and malformed tokens', async () => {
    const v = await JwtVerifier.create({ secret, leewaySeconds: 5, issuer: 'https://issuer', audience: 'chorus' });
    const now = Math.floor(Date.now() / 1000);
    const good = { ...claims, sub: 'alice', iss: 'https://issuer', aud: 'chorus' };
    expect((await v.verify(await hs256({ ...good, exp: now + 60 }))).ok).toBe(true);
    const refusals: Array<[string, string]> = [
      ['forged', await hs256({ ...good }, 'another-secret-of-at-least-32-characters')],
      ['expired', await hs256({ ...good, exp: now - 60 })],
      ['not yet valid', await hs256({ ...good, nbf: now + 60 })],
      ['no sub', await hs256({ ...claims, iss: 'https://issuer', aud: 'chorus' })],
      ['wrong issuer', await hs256({ ...good, iss: 'https://evil' })],
      ['wrong audience', await hs256({ ...good, aud: 'other' })],
      ['bad permissions', await hs256({ ...good, chorus: { subscribe: ['a..b'] } })],
      ['permissions not lists', await hs256({ ...good, chorus: { subscribe: 'room.>' } })],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...good })}.`],
      ['garbage', 'not.a.token'],
      ['empty', ''],
    ];
    for (const [why, token] of refusals) {
      const result = await v.verify(token);
      expect(result.ok, why).toBe(false);
      if (!result.ok) expect(result.message, why).not.toContain(token.slice(0, 20) || '\u0000');
    }
    expect((await v.verify(undefined)).ok).toBe(false);
    expect((await v.verify(42)).ok).toBe(false);
  });

  it('tolerates clock skew within the leeway only', async () => {
    const v = await JwtVerifier.create({ secret, leewaySeconds: 30 });
    const now = Math.floor(Date.now() / 1000);
    expect((await v.verify(await hs256({ sub: 's', exp: now - 10 }))).ok).toBe(true);
    expect((await v.verify(await hs256({ sub: 's', exp: now - 60 }))).ok).toBe(false);
  });

  it('verifies RS256 and ES256 with a public key, and refuses HS256 signed with that public key (algorithm confusion)', async () => {
    for (const [type, alg] of [['rsa', 'RS256'], ['ec', 'ES256']] as const) {
      const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const privateKey = await importPKCS8(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), alg);
      const v = await JwtVerifier.create({ publicKeyPem, leewaySeconds: 5 });
      const token = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg }).setExpirationTime('1m').sign(privateKey);
      expect((await v.verify(token)).ok, alg).toBe(true);
      // The public key is public: an HS256 token "signed" with its PEM text must not pass.
      expect((await v.verify(await hs256({ sub: 'mallory' }, publicKeyPem))).ok, `${alg} confusion`).toBe(false);
    }
  });

  it('verifies with a JWKS, choosing the key by kid', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    const v = await JwtVerifier.create({ jwks: { keys: [jwk] }, leewaySeconds: 5 });
    const privateKey = await importPKCS8(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES256');
    const token = await new SignJWT({ sub: 'carol' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
    expect((await v.verify(token)).ok).toBe(true);
    const other = await new SignJWT({ sub: 'carol' }).setProtectedHeader({ alg: 'ES256', kid: 'k2' }).sign(privateKey);
    expect((await v.verify(other)).ok).toBe(false);
  });

  it('refuses a configuration that would weaken it', async () => {
    await expect(JwtVerifier.create({ secret: 'short', leewaySeconds: 5 })).rejects.toThrow(/32 characters/);
    await expect(JwtVerifier.create({ leewaySeconds: 5 })).rejects.toThrow(/exactly one/);
    await expect(JwtVerifier.create({ secret, publicKeyPem: 'x', leewaySeconds: 5 })).rejects.toThrow(/exactly one/);
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
