/**
 * Shape checks for decoded client messages. The broker runs every inbound
 * message through `parseClientMessage`; a failure names the request id (when
 * one could be read) and a stable error code, so the broker can answer it.
 */
import { checkPlainValue, encode } from './codec.js';
import type { DataBytes } from './scan.js';
import { ErrorCode } from './codes.js';
import { isPlainObject } from './merge-patch.js';
import { messageKinds, type ClientMessage, type MessageKind, type PresenceOptions } from './messages.js';

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; id: number | undefined; code: ErrorCode; message: string };

/** Request ids are positive safe integers. */
export function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function fail(id: number | undefined, code: ErrorCode, message: string): ParseResult {
  return { ok: false, id, code, message };
}

/** The longest client instance id accepted in `hello`. */
export const clientIdBytesMax = 64;
const clientIdRe = /^[A-Za-z0-9_:.-]+$/;

export function parseClientMessage(raw: unknown): ParseResult {
  if (!isPlainObject(raw)) return fail(undefined, ErrorCode.BadRequest, 'a message must be a map');
  const type = raw['type'];
  const idRaw = raw['id'];
  const id = isRequestId(idRaw) ? idRaw : undefined;
  switch (type) {
    case 'hello': {
      const v = raw['v'];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(undefined, ErrorCode.BadRequest, 'hello.v must be an integer');
      const client = raw['client'];
      if (client !== undefined && client !== null && (typeof client !== 'string' || client.length === 0 || client.length > clientIdBytesMax || !clientIdRe.test(client))) {
        return fail(undefined, ErrorCode.BadRequest, `hello.client must be 1–${clientIdBytesMax} chars of [A-Za-z0-9_:.-]`);
      }
      const token = raw['token'];
      if (token !== undefined && token !== null && typeof token !== 'string') return fail(undefined, ErrorCode.BadRequest, 'hello.token must be a string');
      return { ok: true, message: { type, v, client: client ?? undefined, token: token ?? undefined } as ClientMessage };
    }
    case 'pong':
      return { ok: true, message: { type } };
    case 'refresh': {
      if (id === undefined) return fail(undefined, ErrorCode.BadRequest, 'refresh.id must be a positive integer');
      const token = raw['token'];
      if (typeof token !== 'string' || token.length === 0 || token.length > 16 * 1024) return fail(id, ErrorCode.BadRequest, 'refresh.token must be a string of at most 16 KiB');
      return { ok: true, message: { type, id, token } };
    }
    case 'sub':
    case 'unsub':
    case 'pub':
      break;
    default:
      return fail(id, ErrorCode.UnknownType, `unknown message type ${describe(type)}`);
  }
  // A publish may go without an id (v2: no acknowledgement wanted); a v1 connection refuses that.
  if (id === undefined && (type !== 'pub' || (idRaw !== undefined && idRaw !== null))) return fail(undefined, ErrorCode.BadRequest, `${type}.id must be a positive integer`);
  const topic = raw['topic'];
  if (typeof topic !== 'string') return fail(id, ErrorCode.InvalidTopic, `${type}.topic must be a string`);
  if (type === 'pub') {
    const kind = raw['kind'] ?? 'event';
    if (!messageKinds.includes(kind as MessageKind)) return fail(id, ErrorCode.BadRequest, `pub.kind must be one of ${messageKinds.join(', ')}`);
    const pid = raw['pid'];
    if (pid !== undefined && pid !== null && !isRequestId(pid)) return fail(id, ErrorCode.BadRequest, 'pub.pid must be a positive integer');
    return { ok: true, message: { type, id, topic, kind: kind as MessageKind, data: raw['data'] ?? null, pid: pid ?? undefined } };
  }
  if (id === undefined) return fail(undefined, ErrorCode.BadRequest, `${type}.id must be a positive integer`);
  if (type === 'unsub') return { ok: true, message: { type, id, topic } };
  const state = raw['state'];
  if (state !== undefined && state !== null && typeof state !== 'boolean') return fail(id, ErrorCode.BadRequest, 'sub.state must be a boolean');
  const since = raw['since'];
  if (since !== undefined && since !== null && !(typeof since === 'number' && Number.isSafeInteger(since) && since >= 0)) {
    return fail(id, ErrorCode.BadRequest, 'sub.since must be a non-negative integer');
  }
  const epoch = raw['epoch'];
  if (epoch !== undefined && epoch !== null && (typeof epoch !== 'string' || epoch.length > 64)) return fail(id, ErrorCode.BadRequest, 'sub.epoch must be a string');
  const presenceRaw = raw['presence'];
  let presence: PresenceOptions | undefined;
  if (presenceRaw !== undefined && presenceRaw !== null) {
    if (!isPlainObject(presenceRaw)) return fail(id, ErrorCode.BadRequest, 'sub.presence must be a map');
    const hidden = presenceRaw['hidden'];
    if (hidden !== undefined && hidden !== null && typeof hidden !== 'boolean') return fail(id, ErrorCode.BadRequest, 'sub.presence.hidden must be a boolean');
    presence = { info: presenceRaw['info'] ?? undefined, hidden: hidden === true };
  }
  return {
    ok: true,
    message: {
      type,
      id,
      topic,
      state: state === true,
      since: since ?? undefined,
      epoch: epoch ?? undefined,
      presence,
    },
  };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 32));
  return typeof v;
}

/**
 * Deepest nesting allowed inside published `data`, presence `info` and state.
 * Below the frame decoders' depth limits with room for the envelope, so data
 * that is accepted can always be delivered.
 */
export const dataDepthMax = 24;

/** A value that passed: its size, and its encoding (the broker reuses it rather than encode the value again). */
export type DataCheck = { ok: true; bytes: number; encoded: Uint8Array } | { ok: false; code: ErrorCode; message: string };

/**
 * Checks an application value before it is published or shown as presence:
 * plain msgpack only (nil, boolean, number, string, binary, array, map; no
 * Date, BigInt, undefined or class instances), at most `dataDepthMax` deep,
 * and at most `bytesMax` once encoded. Both the client and the broker (for
 * WebSocket and HTTP alike) run it, so bad data is refused per request.
 */
export function checkData(value: unknown, bytesMax: number, what = 'data'): DataCheck {
  const plain = checkPlainValue(value, dataDepthMax);
  if (plain === 'too-deep') return { ok: false, code: ErrorCode.BadRequest, message: `${what} is nested deeper than ${dataDepthMax} levels` };
  if (plain === 'bad-value') return { ok: false, code: ErrorCode.BadRequest, message: `${what} must be plain msgpack values (no Date, BigInt, undefined, functions or class instances)` };
  let encoded: Uint8Array;
  try {
    encoded = encode(value);
  } catch (err) {
    return { ok: false, code: ErrorCode.BadRequest, message: `${what} cannot be encoded: ${err instanceof Error ? err.message : String(err)}` };
  }
  const bytes = encoded.byteLength;
  if (bytes > bytesMax) return { ok: false, code: ErrorCode.PayloadTooLarge, message: `${what} is ${bytes} bytes; at most ${bytesMax}` };
  return { ok: true, bytes, encoded };
}

/**
 * `checkData` for a payload whose bytes are at hand (scan.ts): their size is its size, and they are
 * delivered as they are — unless re-encoding the decoded value would change them (then it is
 * checked and encoded as any other value). The frame they came in decoded as plain values.
 */
export function checkEncodedData(encoded: DataBytes, value: unknown, bytesMax: number): DataCheck {
  if (!encoded.asIs) return checkData(value, bytesMax);
  if (encoded.depth > dataDepthMax) return { ok: false, code: ErrorCode.BadRequest, message: `data is nested deeper than ${dataDepthMax} levels` };
  const bytes = encoded.bytes.byteLength;
  if (bytes > bytesMax) return { ok: false, code: ErrorCode.PayloadTooLarge, message: `data is ${bytes} bytes; at most ${bytesMax}` };
  return { ok: true, bytes, encoded: encoded.bytes };
}
