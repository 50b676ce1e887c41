/**
 * Frames on the wire: one binary WebSocket message holds one msgpack array
 * whose elements are protocol messages (plain maps). Plain msgpack only: no
 * msgpackr records or extensions, `undefined` is written as nil, so any
 * msgpack decoder can read a frame.
 *
 * Decoding never throws: it returns `{ ok: false, reason }` for anything that
 * is not a well-formed frame of plain values within the depth limit.
 * Map keys are strings or integers (an integer key becomes its decimal
 * string); a frame with any other key, or a `__proto__` key, is refused
 * ('bad-value'), so no decoded object can reach `Object.prototype`.
 */
import { packr } from './packr.js';
import { checkValue } from './walk.js';

/** Deepest nesting of arrays/maps accepted inside one decoded frame. */
export const depthMaxDefault = 32;

/** Encodes one value (a message, or a message's data) as plain msgpack. */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Encodes a whole frame: the array of messages. */
export function encodeFrame(messages: readonly unknown[]): Uint8Array {
  return packr.pack(messages);
}

/** Byte length of the msgpack array header for `count` elements. */
export function arrayHeaderBytes(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

/**
 * Builds a frame from messages already encoded one by one (the broker encodes a
 * delivered message once and copies its bytes into every subscriber's frame).
 */
export function frameFromEncoded(parts: readonly Uint8Array[], partBytes: number): Uint8Array {
  const count = parts.length;
  if (count === 1) {
    // A frame of one message is that message behind the byte 0x91. The hot-path encoders put that
    // byte in front of every message they write (delivery.ts), so such a frame is a view, not a
    // copy — and whatever byte precedes a part, if it is 0x91 the view is the right frame.
    const part = parts[0]!;
    if (part.byteOffset > 0) {
      const framed = new Uint8Array(part.buffer, part.byteOffset - 1, part.byteLength + 1);
      if (framed[0] === 0x91) return framed;
    }
  }
  const headerBytes = arrayHeaderBytes(count);
  const out = new Uint8Array(headerBytes + partBytes);
  if (count < 16) {
    out[0] = 0x90 | count;
  } else if (count < 0x10000) {
    out[0] = 0xdc;
    out[1] = count >>> 8;
    out[2] = count & 0xff;
  } else {
    out[0] = 0xdd;
    out[1] = (count >>> 24) & 0xff;
    out[2] = (count >>> 16) & 0xff;
    out[3] = (count >>> 8) & 0xff;
    out[4] = count & 0xff;
  }
  let offset = headerBytes;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * The element count a frame's msgpack array header announces, read without decoding anything
 * (undefined when the frame does not start with an array header). Lets a receiver refuse a frame
 * of too many messages before paying for it.
 */
export function frameLength(bytes: Uint8Array): number | undefined {
  const first = bytes[0];
  if (first === undefined) return undefined;
  if ((first & 0xf0) === 0x90) return first & 0x0f;
  if (first === 0xdc && bytes.byteLength >= 3) return (bytes[1]! << 8) | bytes[2]!;
  if (first === 0xdd && bytes.byteLength >= 5) return ((bytes[1]! << 24) >>> 0) + ((bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!);
  return undefined;
}

export type DecodeResult = { ok: true; messages: unknown[] } | { ok: false; reason: DecodeFailure };
export type DecodeFailure = 'malformed' | 'not-array' | 'bad-value' | 'too-deep';

/** Decodes a frame; never throws. */
export function decodeFrame(bytes: Uint8Array, depthMax = depthMaxDefault): DecodeResult {
  const first = bytes[0];
  if (first === undefined) return { ok: false, reason: 'malformed' };
  if ((first & 0xf0) !== 0x90 && first !== 0xdc && first !== 0xdd) return { ok: false, reason: 'not-array' };
  const decoded = decodeValue(bytes, depthMax);
  return decoded.ok ? { ok: true, messages: decoded.value as unknown[] } : decoded;
}

/** One checked value (as `decodeFrame` checks a frame, whatever its type): a broker link's frame. */
export function decodeValue(bytes: Uint8Array, depthMax = depthMaxDefault): { ok: true; value: unknown } | { ok: false; reason: Exclude<DecodeFailure, 'not-array'> } {
  // The bytes are checked before they are decoded, in one pass that allocates nothing: well-formed
  // to the last byte, at most `depthMax` deep, no extension type (so the decoder can only make
  // plain values: nil, boolean, number, string, binary, array, map), and every map key a string
  // or an integer, none `__proto__` (the decoder would turn any other key into a string silently,
  // and rename `__proto__`, colliding with a real `__proto_`).
  const fault = checkValue(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), depthMax);
  if (fault !== undefined) return { ok: false, reason: fault };
  try {
    return { ok: true, value: packr.unpack(bytes) };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/**
 * Verifies that a decoded value holds only plain msgpack values (nil, boolean,
 * number, string, binary, array, map) nested at most `depthMax` deep.
 * Returns undefined when it does, else the failure.
 */
export function checkPlainValue(value: unknown, depthMax: number): 'bad-value' | 'too-deep' | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null) continue;
    switch (typeof v) {
      case 'boolean':
      case 'number':
      case 'string':
        continue;
      case 'object':
        break;
      default:
        return 'bad-value';
    }
    if (v instanceof Uint8Array) continue;
    if (depth >= depthMax) return 'too-deep';
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return 'bad-value';
    for (const key of Object.keys(v as object)) stack.push([(v as Record<string, unknown>)[key], depth + 1]);
  }
  return undefined;
}
