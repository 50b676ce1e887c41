/**
 * A small msgpack writer for the messages on the hot path, written field by
 * field: a delivery reuses its payload's bytes as they are (encoded once, when
 * it was published), a publish acknowledgement is a few bytes, and integers
 * stay integers — a safe integer of 2^32 or more is written as a msgpack
 * uint 64 / int 64, never as a float (msgpackr writes those as float64).
 *
 * It writes into a slab and `finish()` hands out a view of what was written:
 * no buffer per message, which for small messages costs more than the writing
 * (an ArrayBuffer each, and the collector's work for it). A view keeps its slab
 * alive, as Node's pooled Buffers do. Slabs are 8 KiB, so that a small message
 * kept long (in a topic's history) pins at most that; a message that does not
 * fit starts a slab of the next power of two that holds it, which the messages
 * after it share — it pins at most about twice its size.
 */
const utf8 = new TextEncoder();
const slabBytes = 8 * 1024;

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  /** Where the message being written starts in the slab, and where writing is. */
  private start = 0;
  private pos = 0;

  constructor(size = slabBytes) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written into the current message. */
  get length(): number {
    return this.pos - this.start;
  }

  /** The message written, as a view of the slab; the next one starts after it. */
  finish(): Uint8Array {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  /** Puts one byte in front of the next message without counting it as part of it (see `frameOfOne`). */
  lead(byte: number): this {
    this.room(1);
    this.buf[this.pos++] = byte;
    this.start = this.pos;
    return this;
  }

  arrayHeader(count: number): this {
    this.room(5);
    if (count < 16) this.buf[this.pos++] = 0x90 | count;
    else if (count < 0x10000) this.byte3(0xdc, count);
    else this.byte5(0xdd, count);
    return this;
  }

  mapHeader(count: number): this {
    this.room(5);
    if (count < 16) this.buf[this.pos++] = 0x80 | count;
    else if (count < 0x10000) this.byte3(0xde, count);
    else this.byte5(0xdf, count);
    return this;
  }

  nil(): this {
    this.room(1);
    this.buf[this.pos++] = 0xc0;
    return this;
  }

  bool(value: boolean): this {
    this.room(1);
    this.buf[this.pos++] = value ? 0xc3 : 0xc2;
    return this;
  }

  /** A number: a safe integer as the smallest msgpack integer that holds it, anything else as float64. */
  number(value: number): this {
    if (!Number.isSafeInteger(value)) {
      this.room(9);
      this.buf[this.pos] = 0xcb;
      this.view.setFloat64(this.pos + 1, value);
      this.pos += 9;
      return this;
    }
    this.room(9);
    const b = this.buf;
    if (value >= 0) {
      if (value < 0x80) b[this.pos++] = value;
      else if (value < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = value;
      } else if (value < 0x10000) this.byte3(0xcd, value);
      else if (value < 0x100000000) this.byte5(0xce, value);
      else {
        b[this.pos] = 0xcf;
        this.view.setUint32(this.pos + 1, Math.floor(value / 0x100000000));
        this.view.setUint32(this.pos + 5, value >>> 0);
        this.pos += 9;
      }
    } else if (value >= -32) b[this.pos++] = value & 0xff;
    else if (value >= -0x80) {
      b[this.pos++] = 0xd0;
      b[this.pos++] = value & 0xff;
    } else if (value >= -0x8000) {
      b[this.pos] = 0xd1;
      this.view.setInt16(this.pos + 1, value);
      this.pos += 3;
    } else if (value >= -0x80000000) {
      b[this.pos] = 0xd2;
      this.view.setInt32(this.pos + 1, value);
      this.pos += 5;
    } else {
      b[this.pos] = 0xd3;
      this.view.setBigInt64(this.pos + 1, BigInt(value));
      this.pos += 9;
    }
    return this;
  }

  /**
   * A number as msgpackr writes it (protocol 1 kept byte for byte): an integer within 32 bits as
   * an integer, anything else as float64 — so a v1 peer's decoder never meets a uint 64.
   */
  numberV1(value: number): this {
    if (Number.isInteger(value) && value >= -0x80000000 && value <= 0xffffffff) return this.number(value);
    this.room(9);
    this.buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, value);
    this.pos += 9;
    return this;
  }

  string(value: string): this {
    // At most 3 bytes per UTF-16 unit, plus the longest header.
    this.room(value.length * 3 + 5);
    const start = this.pos;
    // Short strings (the usual case) take the one-byte header; room for it is left first.
    const head = value.length < 32 ? 1 : value.length * 3 < 0x100 ? 2 : value.length * 3 < 0x10000 ? 3 : 5;
    let n: number;
    if (isAscii(value)) {
      const b = this.buf;
      const at = start + head;
      for (let i = 0; i < value.length; i++) b[at + i] = value.charCodeAt(i);
      n = value.length;
    } else {
      n = utf8.encodeInto(value, this.buf.subarray(start + head)).written;
    }
    const need = stringHeaderBytes(n);
    if (need !== head) this.buf.copyWithin(start + need, start + head, start + head + n);
    const b = this.buf;
    if (need === 1) b[start] = 0xa0 | n;
    else if (need === 2) {
      b[start] = 0xd9;
      b[start + 1] = n;
    } else if (need === 3) {
      b[start] = 0xda;
      b[start + 1] = n >>> 8;
      b[start + 2] = n & 0xff;
    } else {
      b[start] = 0xdb;
      this.view.setUint32(start + 1, n);
    }
    this.pos = start + need + n;
    return this;
  }

  /** Bytes that already are one msgpack value (an encoded payload), copied as they are. */
  raw(bytes: Uint8Array): this {
    const n = bytes.byteLength;
    this.room(n);
    // A short one (a map key) byte by byte: TypedArray#set costs more than the copy below ~16 bytes.
    if (n < 16) {
      const b = this.buf;
      for (let i = 0, at = this.pos; i < n; i++) b[at + i] = bytes[i]!;
    } else this.buf.set(bytes, this.pos);
    this.pos += n;
    return this;
  }

  private byte3(tag: number, value: number): void {
    const b = this.buf;
    b[this.pos] = tag;
    b[this.pos + 1] = value >>> 8;
    b[this.pos + 2] = value & 0xff;
    this.pos += 3;
  }

  private byte5(tag: number, value: number): void {
    this.buf[this.pos] = tag;
    this.view.setUint32(this.pos + 1, value);
    this.pos += 5;
  }

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.byteLength) return;
    // A new slab; the message begun so far moves with it.
    const begun = this.pos - this.start;
    let size = slabBytes;
    while (size < begun + bytes + 1) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.start - (this.start > 0 ? 1 : 0), this.pos), 0);
    const shift = this.start > 0 ? 1 : 0;
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.start = shift;
    this.pos = shift + begun;
  }
}

/** The header of a msgpack string of `n` UTF-8 bytes: fixstr, str 8, str 16 or str 32. */
function stringHeaderBytes(n: number): number {
  return n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** How many bytes `string(value)` writes, header included, without writing them. */
export function stringSize(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) (n += 4), i++;
    else n += 3; // the rest of the BMP, and a lone surrogate (written as U+FFFD, three bytes)
  }
  return stringHeaderBytes(n) + n;
}

/** How many bytes `numberV1(value)` writes, without writing them. */
export function numberV1Size(value: number): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) return 9;
  if (value >= 0) return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
  return value >= -32 ? 1 : value >= -0x80 ? 2 : value >= -0x8000 ? 3 : 5;
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}
