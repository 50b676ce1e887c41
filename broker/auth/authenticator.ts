/**
 * The broker's one answer to "who is this, and what may they do": for a
 * WebSocket hello or refresh (a token), for an HTTP request (an
 * `Authorization: Bearer` API key or token), and for a browser's `Origin`.
 * Anonymous mode (the embedded default) lets everyone do everything; with
 * JWT authentication every path checks the same permissions.
 */
import { timingSafeEqual } from 'node:crypto';
import { allPermissions } from './permissions.js';
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

export class Authenticator {
  private readonly origins: ReadonlySet<string> | '*';

  constructor(readonly options: AuthOptions) {
    this.origins = options.origins === '*' ? '*' : new Set(options.origins.map((o) => o.toLowerCase()));
  }

  get required(): boolean {
    return this.options.verifier !== undefined;
  }

  /** The identity a WebSocket client's token proves (anonymous mode: everyone is anonymous). */
  async client(token: unknown): Promise<Verified> {
    if (this.options.verifier === undefined) return { ok: true, identity: anonymous };
    return this.options.verifier.verify(token);
  }

  /** The identity an HTTP `Authorization` header proves: the API key, or a token. */
  async http(authorization: string | undefined): Promise<Verified> {
    if (this.options.verifier === undefined && this.options.apiKey === undefined) return { ok: true, identity: anonymous };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (m === null) return { ok: false, message: 'an Authorization: Bearer header (API key or token) is required' };
    const presented = m[1]!;
    if (this.options.apiKey !== undefined && sameSecret(presented, this.options.apiKey)) return { ok: true, identity: { ...anonymous, credential: 'api-key', sub: 'api-key' } };
    if (this.options.verifier === undefined) return { ok: false, message: 'the API key does not match' };
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
