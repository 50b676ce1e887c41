/**
 * The broker's one answer to "who is this, and what may they do": for a
 * WebSocket hello or refresh (a token), for an HTTP request (an
 * `Authorization: Bearer` API key or token), and for a browser's `Origin`.
 * Anonymous mode (the embedded default) lets everyone do everything; with
 * JWT authentication every path checks the same permissions. The admin topic
 * `$sys` takes the API key (as an HTTP Bearer or as a WebSocket token), a
 * token that grants it by name, or anonymous mode without an API key.
 */
import { timingSafeEqual } from 'node:crypto';
import { adminPermissions, allPermissions } from './permissions.js';
import type { Identity, JwtVerifier, Verified } from './verifier.js';

export interface AuthOptions {
  /** Absent: anonymous mode. */
  verifier?: JwtVerifier;
  /** Grants the HTTP API everything (operators, back ends). */
  apiKey?: string;
  /** Browser origins allowed to open WebSockets; `'*'` for any. */
  origins: readonly string[] | '*';
  /** How long a connection whose token expired may go on before it must have refreshed, ms. */
  tokenGraceMs: number;
}

export const anonymous: Identity = { credential: 'anonymous', sub: 'anonymous', permissions: allPermissions, expiresAt: undefined };

/** Whoever presents the API key: everything, the admin topic included. */
export const operator: Identity = { credential: 'api-key', sub: 'api-key', permissions: adminPermissions, expiresAt: undefined };

/** Anonymous mode with no API key configured: nobody is asked anything, so the admin topic is open too. */
const anonymousAdmin: Identity = { ...anonymous, permissions: adminPermissions };

export class Authenticator {
  private readonly origins: ReadonlySet<string> | '*';

  constructor(readonly options: AuthOptions) {
    this.origins = options.origins === '*' ? '*' : new Set(options.origins.map((o) => o.toLowerCase()));
  }

  get required(): boolean {
    return this.options.verifier !== undefined;
  }

  /** The identity a WebSocket client's token proves: the API key, a JWT, or (anonymous mode) anonymous. */
  async client(token: unknown): Promise<Verified> {
    if (this.options.apiKey !== undefined && typeof token === 'string' && sameSecret(token, this.options.apiKey)) return { ok: true, identity: operator };
    if (this.options.verifier === undefined) return { ok: true, identity: this.options.apiKey === undefined ? anonymousAdmin : anonymous };
    return this.options.verifier.verify(token);
  }

  /** The identity an HTTP `Authorization` header proves: the API key, or a token. */
  async http(authorization: string | undefined): Promise<Verified> {
    if (this.options.verifier === undefined && this.options.apiKey === undefined) return { ok: true, identity: anonymousAdmin };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (m === null) return { ok: false, message: 'an Authorization: Bearer header (API key or token) is required', reason: 'missing' };
    const presented = m[1]!;
    if (this.options.apiKey !== undefined && sameSecret(presented, this.options.apiKey)) return { ok: true, identity: operator };
    if (this.options.verifier === undefined) return { ok: false, message: 'the API key does not match', reason: 'api-key' };
    return this.options.verifier.verify(presented);
  }

  /** May a WebSocket be opened from this `Origin` (absent for non-browser clients)? */
  originAllowed(origin: string | undefined): boolean {
    if (origin === undefined || this.origins === '*') return true;
    return this.origins.has(origin.toLowerCase());
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
