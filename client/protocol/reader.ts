/**
 * The client's frame reader. A frame from the broker is mostly protocol-2
 * deliveries (`[ref, seq, kind, ts, data, client?, epoch?]`, delivery.ts);
 * those are read field by field here, the rest of the frame's messages by the
 * general decoder, each on its own bytes:
 * - a binary payload is handed over as a view of the frame (no copy; each
 *   frame is a buffer of its own);
 * - the publisher's client id, the same string message after message, is
 *   decoded once and then recognised by its bytes (a small cache);
 * - nothing is walked twice: the broker checked every payload when it was
 *   published, so the client trusts what its broker sends.
 * Malformed input throws; the caller closes the link.
 */
import { packr } from './packr.js';
import { isStrHead, skip } from './walk.js';

const utf8 = new TextDecoder();

class Cursor {
  pos = 0;
  constructor(readonly b: Uint8Array, readonly view: DataView) {}
}

/** The messages of one frame; deliveries stay arrays. Throws on malformed input. */
export function readFrame(bytes: Uint8Array): unknown[] {
  const c = new Cursor(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const count = arrayLength(c);
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) {
    const head = bytes[c.pos];
    if (head !== undefined && head >= 0x95 && head <= 0x98) out[i] = delivery(c, head & 0x0f);
    else {
      const start = c.pos;
      c.pos = skip(bytes, c.view, start);
      out[i] = packr.unpack(bytes.subarray(start, c.pos));
    }
  }
  if (c.pos !== bytes.byteLength) throw new Error('bytes after the frame');
  return out;
}

function delivery(c: Cursor, fields: number): unknown[] {
  c.pos++;
  const ref = isStrHead(c.b[c.pos]!) ? str(c) : int(c);
  const seq = int(c);
  const kind = int(c);
  const ts = int(c);
  const data = value(c);
  const m: unknown[] = [ref, seq, kind, ts, data];
  if (fields >= 6) m.push(c.b[c.pos] === 0xc0 ? (c.pos++, null) : clientId(c));
  if (fields >= 7) m.push(c.b[c.pos] === 0xc0 ? (c.pos++, undefined) : str(c));
  if (fields >= 8) m.push(int(c));
  return m;
}

function arrayLength(c: Cursor): number {
  const h = c.b[c.pos++];
  if (h === undefined) throw new Error('empty frame');
  if ((h & 0xf0) === 0x90) return h & 0x0f;
  if (h === 0xdc) return (c.pos += 2, c.view.getUint16(c.pos - 2));
  if (h === 0xdd) return (c.pos += 4, c.view.getUint32(c.pos - 4));
  throw new Error('a frame is an array');
}

/** An integer (any msgpack int; a float64 holding one is taken as is). */
function int(c: Cursor): number {
  const b = c.b;
  const v = b[c.pos++];
  if (v === undefined) throw new Error('truncated');
  if (v < 0x80) return v;
  if (v >= 0xe0) return v - 0x100;
  const view = c.view;
  const p = c.pos;
  switch (v) {
    case 0xcc:
      c.pos += 1;
      return view.getUint8(p);
    case 0xcd:
      c.pos += 2;
      return view.getUint16(p);
    case 0xce:
      c.pos += 4;
      return view.getUint32(p);
    case 0xcf:
      c.pos += 8;
      return view.getUint32(p) * 0x100000000 + view.getUint32(p + 4);
    case 0xd0:
      c.pos += 1;
      return view.getInt8(p);
    case 0xd1:
      c.pos += 2;
      return view.getInt16(p);
    case 0xd2:
      c.pos += 4;
      return view.getInt32(p);
    case 0xd3:
      c.pos += 8;
      return view.getInt32(p) * 0x100000000 + view.getUint32(p + 4);
    case 0xcb:
      c.pos += 8;
      return view.getFloat64(p);
    default:
      throw new Error(`not an integer: 0x${v.toString(16)}`);
  }
}

function strLength(c: Cursor): number {
  const h = c.b[c.pos++]!;
  if (h >= 0xa0 && h <= 0xbf) return h & 0x1f;
  if (h === 0xd9) return c.b[c.pos++]!;
  if (h === 0xda) return (c.pos += 2, c.view.getUint16(c.pos - 2));
  if (h === 0xdb) return (c.pos += 4, c.view.getUint32(c.pos - 4));
  throw new Error('not a string');
}

function str(c: Cursor): string {
  const n = strLength(c);
  const start = c.pos;
  c.pos += n;
  if (c.pos > c.b.byteLength) throw new Error('truncated');
  return text(c.b, start, n);
}

function text(b: Uint8Array, start: number, n: number): string {
  if (n < 64) {
    let s = '';
    for (let i = start; i < start + n; i++) {
      const ch = b[i]!;
      if (ch > 0x7f) return utf8.decode(b.subarray(start, start + n));
      s += String.fromCharCode(ch);
    }
    return s;
  }
  return utf8.decode(b.subarray(start, start + n));
}

/** The few client ids seen last, by their bytes: a publisher's id is decoded once, not per message. */
const recent: Array<{ bytes: Uint8Array; text: string }> = [];

function clientId(c: Cursor): string {
  const n = strLength(c);
  const start = c.pos;
  c.pos += n;
  if (c.pos > c.b.byteLength) throw new Error('truncated');
  const b = c.b;
  for (const r of recent) {
    const known = r.bytes;
    if (known.byteLength !== n) continue;
    let same = true;
    for (let i = 0; i < n; i++) {
      if (known[i] !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return r.text;
  }
  const t = text(b, start, n);
  if (recent.length >= 8) recent.pop();
  recent.unshift({ bytes: b.slice(start, start + n), text: t });
  return t;
}

/** Any value: the common small ones read here, a binary as a view, the rest by the general decoder. */
function value(c: Cursor): unknown {
  const b = c.b;
  const h = b[c.pos];
  if (h === undefined) throw new Error('truncated');
  if (h === 0xc4 || h === 0xc5 || h === 0xc6) {
    c.pos++;
    const n = h === 0xc4 ? b[c.pos++]! : h === 0xc5 ? (c.pos += 2, c.view.getUint16(c.pos - 2)) : (c.pos += 4, c.view.getUint32(c.pos - 4));
    const start = c.pos;
    c.pos += n;
    if (c.pos > b.byteLength) throw new Error('truncated');
    return b.subarray(start, c.pos);
  }
  if (h === 0xc0) return (c.pos++, null);
  if (h === 0xc2 || h === 0xc3) return (c.pos++, h === 0xc3);
  if (h < 0x80 || h >= 0xe0) return int(c);
  if (isStrHead(h)) return str(c);
  const start = c.pos;
  c.pos = skip(b, c.view, start);
  return packr.unpack(b.subarray(start, c.pos));
}
