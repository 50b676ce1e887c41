// Proves the broker-link frame codec: values round-trip when fed a byte at a time or in any
// split, an oversized length is refused before its body is buffered, garbage is refused, and
// seeded random and mutated streams never make it throw (a fixed budget of cases).
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeLinkFrame } from '../../broker/transport/index.js';
import { prng } from '../helpers/prng.js';

describe('link frames', () => {
  const values = [{ kind: 'hb', view: 3, acks: { 'a#1': 4 } }, 'text', [1, 2, 3], null, { nested: { deep: [true, 1.5] } }];
  const stream = Buffer.concat(values.map((v) => encodeLinkFrame(v)));

  it('decodes a stream fed one byte at a time', () => {
    const d = new FrameDecoder(1024);
    const out: unknown[] = [];
    for (const byte of stream) for (const e of d.push(Uint8Array.of(byte))) out.push(e.ok ? e.value : e);
    expect(out).toEqual(values);
  });

  it('decodes a stream cut at every position', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder(1024);
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(out.map((e) => (e.ok ? e.value : e))).toEqual(values);
    }
  });

  it('refuses a frame longer than the limit as soon as the length is read', () => {
    const d = new FrameDecoder(16);
    expect(d.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toEqual([{ ok: false, reason: 'too-big' }]);
    expect(d.push(encodeLinkFrame('after'))).toEqual([]);
  });

  it('refuses a frame that is not plain msgpack', () => {
    const d = new FrameDecoder(16);
    expect(d.push(Uint8Array.of(0, 0, 0, 1, 0xc1))).toEqual([{ ok: false, reason: 'malformed' }]);
  });

  it('never throws on random bytes or mutated streams (seed 20261122, 5000 cases)', () => {
    const random = prng(20261122);
    for (let n = 0; n < 5000; n++) {
      let bytes: Uint8Array;
      if (n % 2 === 0) {
        bytes = Uint8Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256));
      } else {
        bytes = Uint8Array.from(stream);
        for (let flips = 1 + Math.floor(random() * 6); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const d = new FrameDecoder(1024);
      // Fed in random pieces; every event is a value or a refusal, never an exception.
      let at = 0;
      while (at < bytes.length) {
        const size = 1 + Math.floor(random() * 40);
        for (const e of d.push(bytes.subarray(at, at + size))) expect(typeof e.ok).toBe('boolean');
        at += size;
      }
    }
  });
});
