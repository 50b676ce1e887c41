/**
 * The stable numeric codes of the wire protocol: request error codes and
 * WebSocket close codes. Both sides import these tables; docs/protocol.md
 * lists them for third-party clients. A code, once published, keeps its meaning.
 */

/** Error codes carried by `{ type: 'error', code }`, grouped by hundreds. */
export const ErrorCode = {
  // 1xx: the request itself is malformed
  BadRequest: 100,
  UnknownType: 101,
  DuplicateRequestId: 102,
  /** A publish id so old the broker can no longer tell whether it was applied; it was not. */
  StalePublishId: 103,
  /** HTTP: an Idempotency-Key already used with a different body; nothing was applied (HTTP 422). */
  IdempotencyKeyReused: 104,
  // 2xx: topics and subscriptions
  InvalidTopic: 200,
  ReservedTopic: 201,
  WildcardNotAllowed: 202,
  AlreadySubscribed: 203,
  NotSubscribed: 204,
  /** HTTP: the messages asked for are no longer kept; the answer gives the earliest seq kept (HTTP 410). */
  HistoryTruncated: 205,
  /** HTTP: no session of this client (or with this session id) on this broker (HTTP 404). */
  UnknownSession: 206,
  // 3xx: a limit was reached
  PayloadTooLarge: 300,
  StateTooLarge: 301,
  TooManySubscriptions: 302,
  RateLimited: 303,
  TooManyRequests: 304,
  // 4xx: identity and permissions
  Unauthorized: 400,
  Forbidden: 401,
  // 5xx: the broker cannot serve now
  Internal: 500,
  NotReady: 501,
  ShuttingDown: 502,
  /**
   * In a mesh, the topic's state is on no broker now: its lightweight group waits for a copy to come
   * back (every copy left at once). Nothing was applied; retry later, here or anywhere.
   */
  Unavailable: 503,
  // 6xx: raised by the client library itself, never sent on the wire
  ClientClosed: 600,
  Timeout: 601,
  QueueFull: 602,
  Disconnected: 603,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorNames = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** The table's name for a code (`'InvalidTopic'`), or `'Unknown'`. */
export function errorCodeName(code: number): string {
  return errorNames.get(code) ?? 'Unknown';
}

/**
 * WebSocket close codes. 4000–4499: the client should reconnect (with backoff,
 * perhaps to another broker). 4500–4999: it should not; something must change
 * first (its code, its token, its protocol version).
 * Standard codes also seen: 1000 normal, 1001 going away (reconnect),
 * 1006 abnormal (reconnect), 1009 frame too big (do not reconnect).
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Abnormal: 1006,
  FrameTooBig: 1009,
  // reconnect range
  Draining: 4000,
  SlowConsumer: 4001,
  HandshakeTimeout: 4002,
  PingTimeout: 4003,
  ServerError: 4004,
  NotReady: 4005,
  TooManyConnections: 4006,
  /** The token expired and no refresh came in time: reconnect with a fresh token. */
  TokenExpired: 4007,
  /** Rate limits broken again and again: reconnect later, more slowly. */
  RateLimited: 4008,
  /** An operator disconnected this session through the HTTP API and let it come back: reconnect. */
  Disconnected: 4009,
  // do-not-reconnect range
  ProtocolError: 4500,
  BadFrame: 4501,
  HelloRequired: 4502,
  UnsupportedVersion: 4503,
  Unauthorized: 4504,
  Forbidden: 4505,
  /** An operator disconnected this session through the HTTP API: do not reconnect by yourself. */
  Kicked: 4506,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client that saw this close code should reconnect. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code < 4500) return true;
  if (code >= 4500 && code < 5000) return false;
  // 1009 (too big) and 1002/1003/1007/1008 (protocol or policy) will fail again.
  return !(code === 1002 || code === 1003 || code === 1007 || code === 1008 || code === 1009);
}
