// Stubs travel folded into runs (broker/core/stub-runs.ts): what the receiver's wire expands is
// exactly what the sender's wire was asked to send — for random batches of stubs, payload copies
// and other messages — a run is far smaller on the link than its stubs, and a hostile run is
// counted and dropped, never thrown.
import { describe, expect, it } from 'vitest';
import { encode } from '../../client/protocol/index.js';
import type { DataMessage, PeerMessage, WireMessage } from '../../broker/core/messages.js';
import { expandRun, foldStubs } from '../../broker/core/stub-runs.js';
import { Wire } from '../../broker/core/wire.js';
import { prng } from '../helpers/prng.js';

const ids = ['b0#m4x5y6z7abcd', 'b1#m4x5y6z7abce', 'b2#m4x5y6z7abcf', 'b3#m4x5y6z7abd0'];

function stub(sender: string, seq: number, origin: string, originSeq: number, stream: number, streamPos: number, extra: Partial<DataMessage> = {}): DataMessage {
  return { kind: 'data', view: 7, sender, seq, order: 'total', safe: true, origin, key: `${origin}/${originSeq}`, originSeq, stream, streamPos, streamSeq: Math.floor(originSeq / 7) + 1, audience: [0, 2], stub: true, payload: null, ...extra };
}

/** What goes out of one wire for one destination, and what the other wire makes of it. */
function roundTrip(messages: PeerMessage[]): { sent: WireMessage; received: PeerMessage[]; malformed: number } {
  const out = new Wire();
  for (const m of messages) out.send('x', m);
  const [action] = out.drain();
  if (action?.kind !== 'send') throw new Error('nothing sent');
  const into = new Wire();
  // Through the link's encoding, as on a real link.
  const sent = structuredClone(action.message);
  const received = into.unpack(sent);
  return { sent, received, malformed: into.malformedTotal };
}

describe('stub runs', () => {
  it('fold and expand random batches back into the very messages sent, in order', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const messages: PeerMessage[] = [];
      const seqs = new Map<string, number>();
      const n = 1 + Math.floor(r() * 40);
      for (let i = 0; i < n; i++) {
        const sender = pick(ids.slice(0, 2));
        const seq = (seqs.get(sender) ?? Math.floor(r() * 1e6)) + (r() < 0.9 ? 1 : 2);
        seqs.set(sender, seq);
        const origin = pick(ids);
        const originSeq = Math.floor(r() * 1e9);
        const kind = r();
        if (kind < 0.7) messages.push(stub(sender, seq, origin, originSeq, Math.floor(r() * 40), Math.floor(r() * 1e7), { safe: r() < 0.8, audience: pick([[0], [1, 3], [0, 2]]), ...(r() < 0.6 ? { size: Math.floor(r() * 1e6) } : {}) }));
        else if (kind < 0.8) messages.push({ ...stub(sender, seq, origin, originSeq, 3, seq), stub: undefined, payload: { command: seq } } as unknown as DataMessage);
        else if (kind < 0.85) messages.push(stub(sender, seq, origin, originSeq, 3, seq, { audienceChange: 'add' }));
        else if (kind < 0.9) messages.push(stub(sender, seq, origin, originSeq, 3, seq, { key: `${origin}/other` }));
        else messages.push({ kind: 'hb', view: 7, acks: [seq, 1, 2] });
      }
      // Messages as the member builds them carry no undefined fields.
      const clean = messages.map((m) => JSON.parse(JSON.stringify(m)) as PeerMessage);
      const { received, malformed } = roundTrip(clean);
      expect(malformed, `seed ${seed}`).toBe(0);
      expect(received, `seed ${seed}`).toEqual(clean);
    }
  });

  it('send a burst of stubs as one run, a small fraction of their bytes', () => {
    const stubs = Array.from({ length: 50 }, (_, i) => stub(ids[1]!, 100_000 + i, ids[i % 3]!, 50_000 + i, i % 8, 20_000 + i));
    const { sent, received } = roundTrip(stubs);
    expect(received).toEqual(stubs);
    expect((sent as { kind: string }).kind).toBe('stubs');
    const folded = encode(sent).byteLength;
    const plain = encode({ kind: 'batch', items: stubs }).byteLength;
    // About 190 bytes a stub as objects; about 20 in a run.
    expect(folded).toBeLessThan(plain / 8);
  });

  it('carry the sizes of the payloads stubs stand for, and keep a run of stubs with sizes apart from one without', () => {
    const sized = Array.from({ length: 4 }, (_, i) => stub(ids[1]!, 10 + i, ids[0]!, 20 + i, 1, 30 + i, { size: 1000 * i }));
    const bare = Array.from({ length: 3 }, (_, i) => stub(ids[1]!, 14 + i, ids[0]!, 24 + i, 1, 34 + i));
    const folded = foldStubs([...sized, ...bare]);
    expect(folded.map((x) => x.kind)).toEqual(['stubs', 'stubs']);
    expect((folded[0] as { sizes?: number[] }).sizes).toEqual([0, 1000, 2000, 3000]);
    expect(folded[1]).not.toHaveProperty('sizes');
    expect(roundTrip([...sized, ...bare]).received).toEqual([...sized, ...bare]);
    const odd = [stub(ids[1]!, 5, ids[0]!, 9, 1, 4, { size: -1 }), stub(ids[1]!, 6, ids[0]!, 10, 1, 5, { size: -1 })];
    expect(foldStubs(odd)).toEqual(odd);
  });

  it('leave a lone stub, and a stub breaking the sequence, as they are', () => {
    const one = stub(ids[1]!, 5, ids[0]!, 9, 1, 4);
    expect(foldStubs([one])).toEqual([one]);
    const apart = [stub(ids[1]!, 5, ids[0]!, 9, 1, 4), stub(ids[1]!, 7, ids[0]!, 10, 1, 5)];
    expect(foldStubs(apart)).toEqual(apart);
    const twoSenders = [stub(ids[1]!, 5, ids[0]!, 9, 1, 4), stub(ids[2]!, 6, ids[0]!, 10, 1, 5)];
    expect(foldStubs(twoSenders)).toEqual(twoSenders);
  });

  it('leave stubs whose numbers are not counts as they are (folding them could not be undone)', () => {
    const odd = [stub(ids[1]!, 5, ids[0]!, 9, 1.5, 4), stub(ids[1]!, 6, ids[0]!, 10, 1.5, 5)];
    const hb: PeerMessage = { kind: 'hb', view: 7, acks: [1] };
    expect(foldStubs([hb, ...odd])).toEqual([hb, ...odd]);
  });

  it('count and drop a hostile run without throwing', () => {
    const good = foldStubs([stub(ids[1]!, 5, ids[0]!, 9, 1, 4), stub(ids[1]!, 6, ids[0]!, 10, 1, 5)])[0]!;
    expect(good.kind).toBe('stubs');
    const hostile: unknown[] = [
      { ...good, at: [1, 2, 3] },
      { ...good, at: [...(good as { at: number[] }).at.slice(0, 6), 99] },
      { ...good, at: [2, 1, 1, 0, 1, 1, 0] },
      { ...good, at: [1, 1, 1, 5, 1, 1, 0] },
      { ...good, at: [1, -1, 1, 0, 1, 1, 0] },
      { ...good, at: [] },
      { ...good, seq: 0 },
      { ...good, seq: Number.MAX_SAFE_INTEGER },
      { ...good, origins: [7] },
      { ...good, origins: [''] },
      { ...good, stamps: [['x']] },
      { ...good, sender: 5 },
      { ...good, at: 'no' },
      { ...good, sizes: [1] },
      { ...good, sizes: [1, -2] },
      { ...good, sizes: 'no' },
    ];
    for (const h of hostile) {
      const wire = new Wire();
      expect(wire.unpack({ kind: 'batch', items: [h] })).toEqual([]);
      expect(wire.malformedTotal).toBeGreaterThan(0);
    }
    expect(expandRun(good)).toHaveLength(2);
  });
});
