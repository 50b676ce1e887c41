/**
 * Client authentication by JWT, with `jose` (no hand-rolled crypto): HS256
 * with a shared secret, RS256 or ES256 with a PEM public key, or either with
 * a JWKS file. The algorithms accepted follow from the key configured — a
 * secret accepts HS256 only, an RSA key RS256 only, an EC key ES256 only — so
 * `alg: none` and algorithm confusion (an HS256 token "signed" with the public
 * key) are refused. `exp`, `nbf`, `iss` and `aud` are checked with a leeway.
 *
 * The token names the client (`sub`) and its permissions in a `chorus` claim:
 * `{ "publish": [patterns], "subscribe": [patterns], "presence": [patterns] }`
 * (each a topic or pattern; absent: nothing). docs/security.md has examples.
 */
import { createPublicKey } from 'node:crypto';
import { createLocalJWKSet, importSPKI, jwtVerify, type CryptoKey, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { checkSubscribeTopic, checkTopic } from '../../client/protocol/index.js';
import type { Permissions } from './permissions.js';

export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** RS256/ES256 public key, PEM (SPKI). */
  publicKeyPem?: string;
  /** A JWKS document (RS256/ES256 keys, chosen by `kid`). */
  jwks?: JSONWebKeySet;
  issuer?: string;
  audience?: string;
  /** Clock skew tolerated on exp/nbf, seconds. */
  leewaySeconds: number;
}

export interface Identity {
  /** What proved it: no credential (anonymous mode), the HTTP API key, or a token. */
  credential: 'anonymous' | 'api-key' | 'token';
  /** The token's subject. */
  sub: string;
  permissions: Permissions;
  /** When the token expires, ms since the epoch (undefined: never). */
  expiresAt: number | undefined;
}

/** Why a credential was refused, for the `chorus_auth_failures_total` metric (a closed set). */
export type AuthFailure = 'missing' | 'malformed' | 'signature' | 'expired' | 'claims' | 'api-key';
export type Verified = { ok: true; identity: Identity } | { ok: false; message: string; reason: AuthFailure };

export class JwtVerifier {
  private constructor(
    private readonly key: Uint8Array | CryptoKey | JWTVerifyGetKey,
    private readonly algorithms: string[],
    private readonly config: JwtConfig,
  ) {}

  static async create(config: JwtConfig): Promise<JwtVerifier> {
    const given = [config.secret, config.publicKeyPem, config.jwks].filter((x) => x !== undefined).length;
    if (given !== 1) throw new Error('JWT authentication needs exactly one of a secret, a public key or a JWKS');
    if (config.secret !== undefined) {
      if (config.secret.length < 32) throw new Error('a JWT secret must have at least 32 characters (256 bits for HS256)');
      return new JwtVerifier(new TextEncoder().encode(config.secret), ['HS256'], config);
    }
    if (config.publicKeyPem !== undefined) {
      const type = createPublicKey(config.publicKeyPem).asymmetricKeyType;
      const alg = type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : undefined;
      if (alg === undefined) throw new Error(`a JWT public key must be RSA (RS256) or EC P-256 (ES256), not ${String(type)}`);
      return new JwtVerifier(await importSPKI(config.publicKeyPem, alg), [alg], config);
    }
    return new JwtVerifier(createLocalJWKSet(config.jwks!), ['RS256', 'ES256'], config);
  }

  async verify(token: unknown): Promise<Verified> {
    if (typeof token !== 'string' || token.length === 0) return { ok: false, message: 'a token is required', reason: 'missing' };
    if (token.length > 16 * 1024) return { ok: false, message: 'the token is too long', reason: 'malformed' };
    let payload: JWTPayload;
    try {
      const verifyOptions = {
        algorithms: this.algorithms,
        clockTolerance: this.config.leewaySeconds,
        requiredClaims: ['sub'],
        ...(this.config.issuer === undefined ? {} : { issuer: this.config.issuer }),
        ...(this.config.audience === undefined ? {} : { audience: this.config.audience }),
      };
      payload =
        typeof this.key === 'function'
          ? (await jwtVerify(token, this.key, verifyOptions)).payload
          : (await jwtVerify(token, this.key, verifyOptions)).payload;
    } catch (err) {
      return { ok: false, message: `invalid token: ${describeJoseError(err)}`, reason: joseReason(err) };
    }
    const permissions = permissionsOf(payload['chorus']);
    if (permissions === undefined) return { ok: false, message: 'invalid token: the chorus claim must map publish/subscribe/presence to lists of topic patterns', reason: 'claims' };
    const sub: unknown = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) return { ok: false, message: 'invalid token: sub must be a string of 1 to 256 characters', reason: 'claims' };
    if (payload.exp !== undefined && !Number.isFinite(payload.exp)) return { ok: false, message: 'invalid token: exp must be a number', reason: 'claims' };
    return { ok: true, identity: { credential: 'token', sub, permissions, expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000 } };
  }
}

function permissionsOf(claim: unknown): Permissions | undefined {
  if (claim === undefined) return { publish: [], subscribe: [], presence: [] };
  if (claim === null || typeof claim !== 'object' || Array.isArray(claim)) return undefined;
  const out: Record<keyof Permissions, string[]> = { publish: [], subscribe: [], presence: [] };
  for (const action of ['publish', 'subscribe', 'presence'] as const) {
    const list = (claim as Record<string, unknown>)[action];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length > 1000) return undefined;
    for (const pattern of list) {
      // System topics (`$rooms`) can be granted to read, never to publish.
      if (typeof pattern !== 'string' || !(action === 'publish' ? checkTopic(pattern, true) : checkSubscribeTopic(pattern)).ok) return undefined;
      out[action].push(pattern);
    }
  }
  return out;
}

/** jose's error codes, in words a client can act on (never the token itself). */
function joseReason(err: unknown): AuthFailure {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'ERR_JWT_EXPIRED') return 'expired';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return 'claims';
  if (code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID') return 'malformed';
  return 'signature';
}

function describeJoseError(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'it has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim ${(err as { claim?: string }).claim ?? ''} is not acceptable`.replace('  ', ' ');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'its algorithm is not accepted here';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key matches it';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'it is malformed';
    default:
      return 'it cannot be verified';
  }
}
