/**
 * Frames on a broker-to-broker TCP link: a 4-byte big-endian length, then that
 * many bytes of plain msgpack. The decoder is fed whatever chunks the socket
 * gives (a byte at a time is fine) and refuses a frame larger than
 * `frameBytesMax` as soon as its length is read, before buffering it.
 */
import { decodeValue, encode } from '../../client/protocol/index.js';

export const frameHeaderBytes = 4;

export function encodeLinkFrame(value: unknown): Uint8Array {
  const body = encode(value);
  const out = new Uint8Array(frameHeaderBytes + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, frameHeaderBytes);
  return out;
}

export type FrameEvent = { ok: true; value: unknown } | { ok: false; reason: 'too-big' | 'malformed' };

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private failed = false;

  /** The limit may rise once the peer is trusted (after the handshake); it applies from the next frame on. */
  constructor(public frameBytesMax: number) {}

  /** Takes the next bytes; returns every frame completed by them. After a failure it returns nothing more. */
  push(chunk: Uint8Array): FrameEvent[] {
    this.append(chunk);
    const out: FrameEvent[] = [];
    for (let e = this.next(); e !== undefined; e = this.next()) out.push(e);
    return out;
  }

  append(chunk: Uint8Array): void {
    if (this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /** The next complete frame, if there is one (one at a time, so the caller can raise the limit in between). */
  next(): FrameEvent | undefined {
    if (this.failed || this.buffered < frameHeaderBytes) return undefined;
    const header = this.peek(frameHeaderBytes);
    const length = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(0);
    if (length > this.frameBytesMax) {
      this.failed = true;
      return { ok: false, reason: 'too-big' };
    }
    if (this.buffered < frameHeaderBytes + length) return undefined;
    const bytes = this.take(frameHeaderBytes + length).subarray(frameHeaderBytes);
    // A link frame holds one value, checked as a client's frame is (plain values, 63 deep at most).
    const decoded = decodeValue(bytes, 63);
    if (!decoded.ok) {
      this.failed = true;
      return { ok: false, reason: 'malformed' };
    }
    return { ok: true, value: decoded.value };
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength >= n) return first.subarray(0, n);
    return concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Uint8Array {
    const all = this.chunks.length === 1 ? this.chunks[0]! : concat(this.chunks);
    const taken = all.slice(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.buffered = rest.byteLength;
    return taken;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
