import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { encode, encodeFrame, encodeMessageV2, frameFromEncoded, readFrame } from '../../client/protocol/index.js';

const general = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' } as ConstructorParameters<typeof Packr>[0]);

describe("the client's frame reader", () => {
  it('reads deliveries field by field and everything else as the general decoder does', () => {
    const payloads: unknown[] = [new Uint8Array([1, 2, 3]), null, true, false, 7, -3, 2 ** 40, 1.5, 'text', 'é'.repeat(40), 'x'.repeat(300), { a: [1, { b: 'c' }] }, [1, 2, [3]], {}];
    const parts: Uint8Array[] = [];
    const expected: unknown[] = [];
    payloads.forEach((data, i) => {
      const client = i % 3 === 0 ? undefined : `client-${i % 2}`;
      const epoch = i % 4 === 0 ? 'e1' : undefined;
      const ref = i % 5 === 0 ? 'room.a' : 3 + i;
      parts.push(encodeMessageV2(ref, { topic: 'room.a', seq: 2 ** 33 + i, kind: (['event', 'state', 'patch'] as const)[i % 3]!, ts: 1_764_600_000_000 + i, data: encode(data), client, epoch }));
      const m: unknown[] = [ref, 2 ** 33 + i, i % 3, 1_764_600_000_000 + i, data];
      if (client !== undefined || epoch !== undefined) m.push(client ?? null);
      if (epoch !== undefined) m.push(epoch);
      expected.push(m);
      if (i % 4 === 1) {
        const control = { type: 'acks', seqs: [i, i + 1] };
        parts.push(encode(control));
        expected.push(control);
      }
    });
    const frame = frameFromEncoded(parts, parts.reduce((n, p) => n + p.byteLength, 0));
    const read = readFrame(frame);
    expect(read).toEqual(expected);
    expect(read).toEqual(general.unpack(frame));
    // A binary payload is a view of the frame, not a copy.
    expect(((read[0] as unknown[])[4] as Uint8Array).buffer).toBe(frame.buffer);
  });

  it('tells apart client ids of the same length (the cache compares bytes)', () => {
    const ids = ['aaaa', 'aaab', 'baaa', 'aaaa', 'zzzz', 'aaab', ...Array.from({ length: 20 }, (_, i) => `id${String(i).padStart(2, '0')}`), 'aaaa'];
    const parts = ids.map((client, i) => encodeMessageV2(1, { topic: 't', seq: i + 1, kind: 'event', ts: 1, data: encode(i), client }));
    const read = readFrame(frameFromEncoded(parts, parts.reduce((n, p) => n + p.byteLength, 0))) as unknown[][];
    expect(read.map((m) => m[5])).toEqual(ids);
  });

  it('throws on what is not a well-formed frame', () => {
    const good = encodeFrame([[1, 2, 0, 3, 'x', 'c']]);
    for (let cut = 1; cut < good.byteLength; cut++) expect(() => readFrame(good.subarray(0, cut)), `cut at ${cut}`).toThrow();
    expect(() => readFrame(new Uint8Array([0x81, 0xa1, 0x61, 0x01]))).toThrow();
    expect(() => readFrame(new Uint8Array([0x91, 0x95, 0x01, 0x02, 0x00, 0x03, 0xc1]))).toThrow();
    expect(() => readFrame(new Uint8Array([0x91, 0xc0, 0xc0]))).toThrow();
  });
});
