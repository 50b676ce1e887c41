// The conflation rule of one connection (broker/server/conflation.ts): what is held while behind,
// what replaces what, and the order and skip marks of what is released.
import { describe, expect, it } from 'vitest';
import type { MessageKind } from '../../client/protocol/index.js';
import { Conflation } from '../../broker/server/conflation.js';
import { HistoryEntry } from '../../broker/topics/index.js';

function entry(seq: number, client: string | undefined, kind: MessageKind = 'event'): HistoryEntry {
  return HistoryEntry.loaded(seq, new Uint8Array(0), { topic: 'game.1.pos', seq, kind, ts: 0, data: new Uint8Array([seq]), client });
}
const released = (c: Conflation, sid: number): Array<[number, number | undefined]> => c.releaseTopic(sid).map((r) => [r.entry.seq, r.prev]);

describe('conflation', () => {
  it('holds nothing while the socket keeps up', () => {
    const c = new Conflation();
    expect(c.offer(entry(1, 'a'), 7, false)).toBe(false);
    expect(c.holding).toBe(false);
  });

  it('keeps the latest event per publisher while behind, and releases them in seq order with the skips marked', () => {
    const c = new Conflation();
    expect(c.offer(entry(5, 'a'), 7, true)).toBe(true);
    expect(c.offer(entry(6, 'b'), 7, true)).toBe(true);
    // Once holding, the topic's events are held even if the socket looks fine, so nothing overtakes.
    expect(c.offer(entry(7, 'a'), 7, false)).toBe(true);
    expect(c.offer(entry(8, 'a'), 7, true)).toBe(true);
    expect(c.skipped).toBe(2);
    // 5 and 7 were replaced by 8; 6 follows 4 directly, 8 follows 6 with 7 skipped.
    expect(released(c, 7)).toEqual([
      [6, 4],
      [8, 6],
    ]);
    expect(c.holding).toBe(false);
  });

  it('marks no skip when nothing was replaced', () => {
    const c = new Conflation();
    c.offer(entry(3, 'a'), 1, true);
    c.offer(entry(4, 'b'), 1, true);
    expect(released(c, 1)).toEqual([
      [3, undefined],
      [4, undefined],
    ]);
  });

  it('never holds state, patches, or events without a publisher: the caller releases the topic before them', () => {
    const c = new Conflation();
    expect(c.offer(entry(1, 'a', 'patch'), 1, true)).toBe(false);
    expect(c.offer(entry(2, undefined), 1, true)).toBe(false);
    c.offer(entry(3, 'a'), 1, true);
    c.offer(entry(4, 'a'), 1, true);
    expect(c.offer(entry(5, 'a', 'state'), 1, true)).toBe(false);
    expect(released(c, 1)).toEqual([[4, 2]]);
  });

  it('keeps topics apart and releases every one once caught up', () => {
    const c = new Conflation();
    c.offer(entry(10, 'a'), 1, true);
    c.offer(entry(20, 'a'), 2, true);
    c.offer(entry(21, 'a'), 2, true);
    const all = c.releaseAll().map(([sid, rs]) => [sid, rs.map((r) => [r.entry.seq, r.prev])]);
    expect(all).toEqual([
      [1, [[10, undefined]]],
      [2, [[21, 19]]],
    ]);
    expect(c.holding).toBe(false);
  });
});
