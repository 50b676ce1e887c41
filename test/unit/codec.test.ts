// Proves the frame codec round-trips every message type, fails cleanly (never throws) on every
// truncation, seeded mutation and hostile msgpack, and that pre-encoded frames equal whole-frame encoding.
import { describe, expect, it } from 'vitest';
import { Unpackr } from 'msgpackr';
import { checkPlainValue, decodeFrame, encode, encodeFrame, frameFromEncoded, parseClientMessage, ErrorCode } from '../../client/protocol/index.js';
import { packr } from '../../client/protocol/packr.js';
import { newWalk, skip, walkValue } from '../../client/protocol/walk.js';
import { prng } from '../helpers/prng.js';

const sample: unknown[] = [
  { type: 'hello', v: 1, client: 'abc', token: 't' },
  { type: 'sub', id: 1, topic: 'room.1', state: true, since: 5, epoch: 'e', presence: { info: { name: 'ann' } } },
  { type: 'pub', id: 2, topic: 'room.1', kind: 'patch', data: { a: [1, 2.5, 'x', null, true, Buffer.from([1, 2])] }, pid: 7 },
  { type: 'msg', topic: 'room.1', seq: 3, kind: 'event', data: 'x'.repeat(300), ts: 1_700_000_000_000, client: 'abc' },
  { type: 'reply', id: 2, seq: 3 },
  { type: 'error', id: 3, code: 200, message: 'bad' },
  { type: 'join', topic: 'room.1', seq: 3, session: 's', client: 'c', info: { n: 1 } },
  { type: 'ping' },
];

/**
 * The check as it was made before (on the decoded value): the bytes decode to an array of plain
 * values at most 32 deep, all of them, with plain map keys.
 */
function decodesPlain(bytes: Uint8Array): boolean {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    return false;
  }
  if (!Array.isArray(value) || checkPlainValue(value, 32) !== undefined) return false;
  const walk = newWalk();
  try {
    return walkValue(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, 0, walk) === bytes.byteLength && walk.keysPlain;
  } catch {
    return false;
  }
}

describe('frame codec', () => {
  it('round-trips every message type', () => {
    const decoded = decodeFrame(encodeFrame(sample));
    expect(decoded).toEqual({ ok: true, messages: sample });
  });

  it('writes plain msgpack any decoder reads (no records, no extensions)', () => {
    const plain = new Unpackr({ mapsAsObjects: true, useRecords: false });
    expect(plain.unpack(encodeFrame(sample))).toEqual(sample);
    // undefined is written as nil, not as msgpackr's extension
    expect([...encode({ a: undefined })]).toEqual([0x81, 0xa1, 0x61, 0xc0]);
  });

  it('builds the same frame from pre-encoded parts, for 0, 1, 15, 16 and 70 000 messages', () => {
    for (const n of [0, 1, 15, 16, 70_000]) {
      const messages = Array.from({ length: n }, (_, i) => ({ type: 'msg', seq: i }));
      const parts = messages.map((m) => encode(m));
      const bytes = parts.reduce((s, p) => s + p.byteLength, 0);
      expect(Buffer.from(frameFromEncoded(parts, bytes)).equals(Buffer.from(encodeFrame(messages)))).toBe(true);
    }
  });

  it('fails cleanly on every truncation, fed byte by byte', () => {
    const frame = encodeFrame(sample);
    for (let len = 0; len < frame.byteLength; len++) {
      const result = decodeFrame(frame.subarray(0, len));
      expect(result.ok, `prefix of ${len} bytes`).toBe(false);
    }
    expect(decodeFrame(frame).ok).toBe(true);
  });

  it('never throws on seeded mutations of valid frames (seed 20261121, 20 000 cases)', () => {
    const random = prng(20261121);
    const frame = encodeFrame(sample);
    for (let i = 0; i < 20_000; i++) {
      const copy = Uint8Array.from(frame);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? Math.floor(random() * copy.length) : copy.length;
      const result = decodeFrame(copy.subarray(0, cut));
      if (result.ok) for (const m of result.messages) parseClientMessage(m);
      // The frame is checked as bytes before decoding: what it accepts decodes to plain values
      // only, and it accepts whatever decodes to plain values within the depth limit.
      expect(result.ok, `case ${i}`).toBe(decodesPlain(copy.subarray(0, cut)));
    }
  });

  it('refuses hostile msgpack without crashing or polluting prototypes', () => {
    const cases: Array<[string, number[]]> = [
      ['array claiming 2^32-1 items', [0xdd, 0xff, 0xff, 0xff, 0xff]],
      ['map claiming 2^32-1 entries', [0xdf, 0xff, 0xff, 0xff, 0xff]],
      ['str claiming 4 GiB', [0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
      ['bin claiming 4 GiB', [0x91, 0xc6, 0xff, 0xff, 0xff, 0xff]],
      ['never-used byte 0xc1', [0x91, 0xc1]],
      ['unknown extension', [0x91, 0xc7, 0x01, 0x05, 0x00]],
      ['timestamp extension', [0x91, 0xd6, 0xff, 0, 0, 0, 1]],
      ['not an array', [0x81, 0xa1, 0x61, 0x01]],
      ['empty', []],
    ];
    for (const [what, bytes] of cases) {
      expect(decodeFrame(Uint8Array.from(bytes)).ok, what).toBe(false);
    }
    // Well-formed extensions (undefined, a timestamp, an unknown type, a msgpackr record) decode to
    // values that are not plain: refused as such, at any depth.
    for (const ext of [[0xd4, 0x00, 0x00], [0xd6, 0xff, 0, 0, 0, 1], [0xc7, 0x01, 0x05, 0x00], [0xd4, 0x72, 0x40]]) {
      expect(decodeFrame(Uint8Array.from([0x91, ...ext])), `ext ${ext.join(' ')}`).toEqual({ ok: false, reason: 'bad-value' });
      expect(decodeFrame(Uint8Array.from([0x91, 0x81, 0xa1, 0x61, 0x92, 0x01, ...ext])), `nested ext ${ext.join(' ')}`).toEqual({ ok: false, reason: 'bad-value' });
    }
    // 100 000 nested arrays: too deep (and must not blow the stack)
    const deep = new Uint8Array(100_001).fill(0x91);
    deep[100_000] = 0xc0;
    expect(decodeFrame(deep)).toEqual({ ok: false, reason: expect.stringMatching(/too-deep|malformed/) });
    // 33 levels: over the default depth of 32
    const nested33 = Uint8Array.from([...new Array(33).fill(0x91), 0xc0]);
    expect(decodeFrame(nested33)).toEqual({ ok: false, reason: 'too-deep' });
    // __proto__ as a map key is refused (it would decode renamed, and collide with a real __proto_), at any depth
    const proto = Uint8Array.from([0x91, 0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x70, 0x01]);
    expect(decodeFrame(proto)).toEqual({ ok: false, reason: 'bad-value' });
    expect(({} as Record<string, unknown>)['p']).toBeUndefined();
    const deeper = Uint8Array.from([0x91, 0x81, 0xa1, 0x61, 0x91, 0x81, 0xa9, ...Buffer.from('__proto__'), 0x01]);
    expect(decodeFrame(deeper)).toEqual({ ok: false, reason: 'bad-value' });
    // … in the longer string forms too (found by an outside review: only the fixstr form was caught).
    for (const head of [[0xd9, 9], [0xda, 0, 9], [0xdb, 0, 0, 0, 9]]) {
      expect(decodeFrame(Uint8Array.from([0x91, 0x81, ...head, ...Buffer.from('__proto__'), 0x01])), `key ${head.join(' ')}`).toEqual({ ok: false, reason: 'bad-value' });
    }
    expect(decodeFrame(Uint8Array.from([0x91, 0x81, 0xd9, 9, ...Buffer.from('__proto_x'), 0x01])).ok).toBe(true);
    // Keys that are neither strings nor integers are refused; integer keys become strings.
    for (const key of [[0x90], [0x80], [0xc3], [0xc0], [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]]) {
      expect(decodeFrame(Uint8Array.from([0x91, 0x81, ...key, 0x01])).ok, `key ${key.join(' ')}`).toBe(false);
    }
    expect(decodeFrame(Uint8Array.from([0x91, 0x81, 0x07, 0x01]))).toEqual({ ok: true, messages: [{ '7': 1 }] });
    expect(decodeFrame(Uint8Array.from([0x91, 0x81, 0xaa, ...Buffer.from('__proto__x'), 0x01]))).toEqual({ ok: true, messages: [{ __proto__x: 1 }] });
    // constructor.prototype as nested keys: an own plain property, nothing reaches a prototype
    const ctor = Uint8Array.from([0x91, 0x81, 0xab, ...Buffer.from('constructor'), 0x81, 0xa9, ...Buffer.from('prototype'), 0x81, 0xa1, 0x71, 0x01]);
    const decoded = decodeFrame(ctor);
    expect(decoded.ok).toBe(true);
    expect(({} as Record<string, unknown>)['q']).toBeUndefined();
    expect((Object.prototype as unknown as Record<string, unknown>)['q']).toBeUndefined();
  });
});

describe('parseClientMessage', () => {
  const cases: Array<[string, unknown, number | 'ok']> = [
    ['hello', { type: 'hello', v: 1 }, 'ok'],
    ['hello with bad client id', { type: 'hello', v: 1, client: 'a b' }, ErrorCode.BadRequest],
    ['hello without version', { type: 'hello' }, ErrorCode.BadRequest],
    ['not a map', [1, 2], ErrorCode.BadRequest],
    ['unknown type', { type: 'nope', id: 1 }, ErrorCode.UnknownType],
    ['sub without id', { type: 'sub', topic: 'a' }, ErrorCode.BadRequest],
    ['sub with negative id', { type: 'sub', id: -1, topic: 'a' }, ErrorCode.BadRequest],
    ['sub with numeric topic', { type: 'sub', id: 1, topic: 5 }, ErrorCode.InvalidTopic],
    ['sub with string since', { type: 'sub', id: 1, topic: 'a', since: '5' }, ErrorCode.BadRequest],
    ['sub with fractional since', { type: 'sub', id: 1, topic: 'a', since: 1.5 }, ErrorCode.BadRequest],
    ['sub with presence not a map', { type: 'sub', id: 1, topic: 'a', presence: 'x' }, ErrorCode.BadRequest],
    ['sub', { type: 'sub', id: 1, topic: 'a', state: true, since: 0 }, 'ok'],
    ['pub with bad kind', { type: 'pub', id: 1, topic: 'a', kind: 'delete', data: 1 }, ErrorCode.BadRequest],
    ['pub with bad pid', { type: 'pub', id: 1, topic: 'a', data: 1, pid: 0 }, ErrorCode.BadRequest],
    ['pub defaulting to event', { type: 'pub', id: 1, topic: 'a', data: 1 }, 'ok'],
    ['unsub', { type: 'unsub', id: 3, topic: 'a' }, 'ok'],
  ];
  it.each(cases)('%s', (_what, raw, expected) => {
    const result = parseClientMessage(raw);
    if (expected === 'ok') expect(result.ok).toBe(true);
    else expect(result).toMatchObject({ ok: false, code: expected });
  });

  it('keeps the request id on a failure so the error can answer it', () => {
    expect(parseClientMessage({ type: 'pub', id: 9, topic: 'a', kind: 'bad' })).toMatchObject({ ok: false, id: 9 });
  });
});

describe('skip', () => {
  it('throws on a value cut off anywhere, header included, and never returns a position past the bytes', () => {
    // Found by an outside fuzz: a length byte cut off (str8, bin8, ext8) gave NaN, not an error.
    for (let v = 0; v < 256; v++) {
      for (let tail = 0; tail <= 5; tail++) {
        const b = Uint8Array.from([0x00, v, ...new Array(tail).fill(0x01)]);
        let end: number | 'threw';
        try {
          end = skip(b, new DataView(b.buffer), 1);
        } catch {
          end = 'threw';
        }
        if (end !== 'threw') expect(Number.isInteger(end) && end > 1 && end <= b.byteLength, `0x${v.toString(16)} + ${tail}`).toBe(true);
      }
    }
  });
});
