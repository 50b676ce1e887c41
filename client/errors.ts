/**
 * Errors the client library raises, one class per kind, each with the
 * protocol's numeric `code` (client/protocol ErrorCode) and, where there is
 * one, the `cause`.
 */
import { ErrorCode, errorCodeName } from './protocol/index.js';

export class ChorusError extends Error {
  override name = 'ChorusError';
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The code's name in the table, e.g. `InvalidTopic`. */
  get codeName(): string {
    return errorCodeName(this.code);
  }
}

/** The broker refused a request (its error reply). */
export class RequestError extends ChorusError {
  override name = 'RequestError';
}

/** The connection is gone and will not come back (closed by the app, or a do-not-reconnect close code). */
export class ConnectionClosedError extends ChorusError {
  override name = 'ConnectionClosedError';
  constructor(
    message: string,
    /** The WebSocket close code, when the broker closed it. */
    readonly closeCode?: number,
  ) {
    super(ErrorCode.ClientClosed, message);
  }
}

/** Could not reach any broker. */
export class ConnectError extends ChorusError {
  override name = 'ConnectError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Disconnected, message, options);
  }
}

/** The bounded queue of publishes waiting for a connection is full. */
export class QueueFullError extends ChorusError {
  override name = 'QueueFullError';
  constructor(message: string) {
    super(ErrorCode.QueueFull, message);
  }
}

/**
 * Whether a refused request may succeed if sent again later or to another broker: the 5xx codes
 * (the broker cannot serve now: NotReady, ShuttingDown …), RateLimited and TooManyRequests.
 */
export function isRetryable(code: number): boolean {
  return (code >= 500 && code < 600) || code === ErrorCode.RateLimited || code === ErrorCode.TooManyRequests;
}
