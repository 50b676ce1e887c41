/**
 * What the gateway does to a raw ws socket below the protocol: close it once
 * (counted), bound the frames it will read, and take a message's bytes.
 */
import type { WebSocket } from 'ws';
import type { ErrorMessage } from '../../client/protocol/index.js';
import type { BrokerMetrics } from './metrics.js';

/** Closes a socket with `code` unless a close has already begun; counts the close. */
export function closeSocket(socket: WebSocket, code: number, reason: string, metrics: BrokerMetrics): void {
  if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) return;
  metrics.closes.inc({ code: String(code) });
  socket.close(code, reason.slice(0, 120));
}

/**
 * Sets the largest frame ws will read on this socket: a larger one is refused at its header,
 * before its payload is buffered (close 1009). ws takes its limit per server, so this sets the
 * socket's own receiver (a field of ws 8, checked by a test); were it missing, the gateway still
 * refuses an oversized frame after reading it.
 */
export function setFrameLimit(socket: WebSocket, bytes: number): boolean {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver === undefined || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = bytes;
  return true;
}

export function errorMessage(id: number | undefined, code: number, message: string): ErrorMessage {
  return id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message };
}

export function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
