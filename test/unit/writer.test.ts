import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { Writer, encode, encodeMessageV1, encodeMessageV2, decodeFrame, frameFromEncoded, messageV1Bytes, type MessageKind } from '../../client/protocol/index.js';

// A decoder that keeps 64-bit integers exact, to see what went on the wire.
const exact = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' } as ConstructorParameters<typeof Packr>[0]);

describe('the hot-path msgpack writer', () => {
  it('writes each integer as the smallest msgpack integer, 2^32 and beyond included (never a float)', () => {
    const cases: Array<[number, number]> = [
      [0, 0x00], [127, 0x7f], [128, 0xcc], [255, 0xcc], [256, 0xcd], [65535, 0xcd], [65536, 0xce], [2 ** 32 - 1, 0xce],
      [2 ** 32, 0xcf], [Number.MAX_SAFE_INTEGER, 0xcf], [-1, 0xff], [-32, 0xe0], [-33, 0xd0], [-128, 0xd0], [-129, 0xd1],
      [-32768, 0xd1], [-32769, 0xd2], [-(2 ** 31), 0xd2], [-(2 ** 31) - 1, 0xd3], [Number.MIN_SAFE_INTEGER, 0xd3],
    ];
    for (const [n, tag] of cases) {
      const bytes = new Writer(4).number(n).finish();
      expect(bytes[0], `first byte of ${n}`).toBe(tag);
      expect(Number(exact.unpack(bytes)), `${n} read back`).toBe(n);
    }
    // What the rest of the codec does with the same value (msgpackr): a float64 for 2^32.
    expect(encode(2 ** 32)[0]).toBe(0xcb);
    expect(new Writer().number(1.5).finish()[0]).toBe(0xcb);
  });

  it('writes strings of every header size, ASCII or not, and grows as needed', () => {
    for (const s of ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000), 'é'.repeat(20), 'ü'.repeat(200), '日本'.repeat(40), '🎲'.repeat(9)]) {
      const bytes = new Writer(2).string(s).finish();
      expect(exact.unpack(bytes)).toBe(s);
      expect(Array.from(bytes)).toEqual(Array.from(encode(s)));
    }
  });

  it('frames deliveries around a payload encoded once, in both protocol versions', () => {
    const data = encode({ x: 1, name: 'p1', list: [1, 2, 3] });
    const parts = { topic: 'room.1', seq: 2 ** 32 + 5, kind: 'patch' as const, ts: 1_764_600_000_000, data, client: 'c-1', epoch: 'e1' };
    const { encoded, dataOffset } = encodeMessageV1(parts);
    expect(Array.from(encoded.subarray(dataOffset, dataOffset + data.byteLength))).toEqual(Array.from(data));
    const v1 = decodeFrame(frameFromEncoded([encoded], encoded.byteLength));
    expect(v1.ok && v1.messages[0]).toEqual({ type: 'msg', topic: 'room.1', seq: 2 ** 32 + 5, kind: 'patch', ts: 1_764_600_000_000, data: { x: 1, name: 'p1', list: [1, 2, 3] }, client: 'c-1', epoch: 'e1' });
    expect(exact.unpack(encodeMessageV2(7, parts))).toEqual([7, BigInt(2 ** 32 + 5), 2, BigInt(1_764_600_000_000), { x: 1, name: 'p1', list: [1, 2, 3] }, 'c-1', 'e1']);
    // Trailing fields that are absent are left out; a missing client before an epoch is nil.
    expect(exact.unpack(encodeMessageV2('room.1', { ...parts, seq: 3, client: undefined, epoch: undefined }))).toEqual(['room.1', 3, 2, BigInt(1_764_600_000_000), { x: 1, name: 'p1', list: [1, 2, 3] }]);
    expect(exact.unpack(encodeMessageV2(1, { ...parts, seq: 1, client: undefined }))).toEqual([1, 1, 2, BigInt(1_764_600_000_000), { x: 1, name: 'p1', list: [1, 2, 3] }, null, 'e1']);
  });

  it('knows a v1 message\'s size without writing it, for every string, number and field present', () => {
    const strings = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000), 'é'.repeat(15), 'é'.repeat(16), 'ü'.repeat(200), '日本'.repeat(40), '🎲'.repeat(9), 'a\ud800b', '\udc00'];
    const numbers = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 1.5, 1_764_600_000_000];
    const kinds: MessageKind[] = ['event', 'state', 'patch'];
    let checked = 0;
    for (const [i, text] of strings.entries()) {
      for (const [j, n] of numbers.entries()) {
        const data = encode(i % 2 === 0 ? { n } : 'x'.repeat(j * 40));
        const parts = { topic: text, seq: n, kind: kinds[j % 3]!, ts: numbers[(i + j) % numbers.length]!, data, client: j % 3 === 0 ? undefined : text, epoch: j % 2 === 0 ? strings[j % strings.length] : undefined };
        expect(messageV1Bytes(parts)).toBe(encodeMessageV1(parts).encoded.byteLength);
        checked++;
      }
    }
    expect(checked).toBe(strings.length * numbers.length);
  });
});

describe('the writer\'s slabs', () => {
  it('hands out views that stay valid across slabs, large messages included, and frames one message without a copy', () => {
    const w = new Writer();
    const written: Array<[Uint8Array, string]> = [];
    for (let i = 0; i < 200; i++) {
      const s = `m${i}-`.repeat(i % 7 === 0 ? 2000 : 90);
      w.lead(0x91);
      written.push([w.string(s).finish(), s]);
    }
    for (const [bytes, s] of written) expect(exact.unpack(bytes)).toBe(s);
    // Several messages share a slab (views of one buffer) …
    expect(new Set(written.map(([b]) => b.buffer)).size).toBeLessThan(written.length);
    // … and a frame of one is the view with its leading 0x91, the same memory.
    for (const [bytes, s] of written) {
      const frame = frameFromEncoded([bytes], bytes.byteLength);
      expect(frame.buffer).toBe(bytes.buffer);
      const decoded = decodeFrame(frame);
      expect(decoded.ok && decoded.messages).toEqual([s]);
    }
  });
});
