/**
 * The client's options and events: what `connect()` takes, and what a
 * `Client` emits.
 */
import type { ReconnectOptions } from './after-close.js';
import { RequestError } from './errors.js';
import { ErrorCode } from './protocol/index.js';
import type { WebSocketConstructor } from './websocket.js';

export interface ConnectOptions {
  /**
   * Bearer token sent in hello, or a function that returns one (called at every connection, and
   * when the broker says the token expired: the client then refreshes it without reconnecting).
   */
  token?: string | (() => string | Promise<string>);
  /** WebSocket constructor; default `globalThis.WebSocket`, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
  reconnect?: ReconnectOptions;
  /** Client instance id (presence identity, publish de-duplication scope). Default: random. */
  clientId?: string;
  /**
   * Publishes not yet answered (in flight or waiting for a connection); more are refused with
   * QueueFull. Default and most 4096: the publish ids the broker remembers per client for
   * de-duplication, so that a publish sent again after a reconnect is recognised.
   */
  publishQueueMax?: number;
  /** Payload bytes of the publishes not yet answered; past it a publish is refused with QueueFull (one is always let through). Default 8 MiB. */
  publishBytesMax?: number;
  /** Time for one connection attempt to reach `welcome`, ms. Default 10 000. */
  connectTimeoutMs?: number;
}

export type ClientEvents = {
  connected: { broker: string; session: string };
  reconnected: { broker: string; session: string };
  disconnected: { code: number; reason: string };
  error: Error;
  closed: { code: number; reason: string };
};

/** The token for a hello or a refresh: the one given, or the token function's answer. */
export async function tokenOf(options: ConnectOptions): Promise<string | undefined> {
  const source = options.token;
  return typeof source === 'function' ? await source() : source;
}

/** The broker says the token expired: a fresh one from the token function goes to `send` (a fixed token cannot be refreshed). */
export function refreshToken(options: ConnectOptions, send: (token: string) => void, fail: (err: Error) => void): void {
  if (typeof options.token !== 'function') {
    fail(new RequestError(ErrorCode.Unauthorized, 'the token expired; pass a token function to connect() so it can be refreshed'));
    return;
  }
  tokenOf(options).then(
    (token) => {
      if (token !== undefined) send(token);
    },
    (err: unknown) => fail(new RequestError(ErrorCode.Unauthorized, `token refresh failed: ${err instanceof Error ? err.message : String(err)}`)),
  );
}
