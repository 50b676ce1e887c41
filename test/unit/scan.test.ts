import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { checkData, checkEncodedData, dataDepthMax, dataOf, decodeFrame, encodeFrame } from '../../client/protocol/index.js';

// Writes maps with integer keys, as another language's client may.
const raw = new Packr({ useRecords: false, variableMapSize: true } as ConstructorParameters<typeof Packr>[0]);

function nest(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

describe('finding payloads in a frame', () => {
  it('hands over each publish payload as its bytes, with the depth and size checks of checkData', () => {
    const values: unknown[] = [null, 1, 'x', new Uint8Array([1, 2]), { a: [1, 2, { b: 'c' }] }, [], {}, nest(dataDepthMax), nest(dataDepthMax + 1), 'é'.repeat(100)];
    const frame = encodeFrame(values.map((data, i) => ({ type: 'pub', id: i + 1, topic: 't', data, kind: 'event' })));
    const decoded = decodeFrame(frame);
    expect(decoded.ok).toBe(true);
    const found = dataOf(frame);
    values.forEach((v, i) => {
      const d = found[i]!;
      expect(d.asIs).toBe(true);
      const decodedValue = (decoded.ok ? (decoded.messages[i] as { data: unknown }) : undefined)!.data;
      const fromBytes = checkEncodedData(d, decodedValue, 64);
      const fromValue = checkData(decodedValue, 64);
      expect(fromBytes.ok, `value ${i}`).toBe(fromValue.ok);
      if (fromBytes.ok && fromValue.ok) expect(Array.from(fromBytes.encoded)).toEqual(Array.from(fromValue.encoded));
      else expect(fromBytes).toMatchObject({ code: (fromValue as { code: number }).code });
    });
  });

  it('leaves to re-encoding a payload whose decoding would change it, and skips messages without data', () => {
    const frame = new Uint8Array([
      ...[0x94],
      ...raw.pack({ type: 'pub', id: 1, topic: 't', data: new Map([[1, 'int key']]) }),
      ...encodeFrame([{ type: 'pub', id: 2, topic: 't', data: JSON.parse('{"__proto__": {"x": 1}}') }]).subarray(1),
      ...encodeFrame([{ type: 'sub', id: 3, topic: 't' }]).subarray(1),
      ...encodeFrame([[1, 2, 3]]).subarray(1),
    ]);
    const found = dataOf(frame);
    expect(found[0]?.asIs).toBe(false);
    expect(found[1]?.asIs).toBe(false);
    expect(found[2]).toBeUndefined();
    expect(found[3]).toBeUndefined();
  });
});
