// Proves the publish de-duplication table's order rules: it evicts the least recently recorded
// client first, and every copy that applied the same commands — or restored a snapshot and then
// applied them — holds the same order (snapshots and evictions depend on it).
import { describe, expect, it } from 'vitest';
import { PublishDedup } from '../../broker/topics/dedup.js';
import { prng } from '../helpers/prng.js';

const clientsOf = (t: PublishDedup): string[] => t.snapshot().map(([client]) => client);

describe('publish de-duplication', () => {
  it('evicts the least recently recorded client first', () => {
    const t = new PublishDedup(4, 10);
    t.record('a', 1, { topic: 'x', seq: 1 });
    t.record('b', 1, { topic: 'x', seq: 2 });
    t.record('a', 2, { topic: 'x', seq: 3 });
    t.record('a', 3, { topic: 'x', seq: 4 }); // a again, already the newest
    expect(clientsOf(t)).toEqual(['b', 'a']);
    t.record('c', 1, { topic: 'x', seq: 5 }); // 5 entries > 4: b goes
    expect(clientsOf(t)).toEqual(['a', 'c']);
    expect(t.lookup('b', 1)).toEqual({ kind: 'new' });
  });

  it('moves a client recorded after a restore to the end, as a copy that never restored does', () => {
    const live = new PublishDedup();
    live.record('a', 1, { topic: 'x', seq: 1 });
    live.record('b', 1, { topic: 'x', seq: 2 });
    const restored = new PublishDedup();
    restored.record('a', 9, { topic: 'y', seq: 9 }); // its own past: a was its latest client
    restored.restore(live.snapshot());
    for (const t of [live, restored]) t.record('a', 2, { topic: 'x', seq: 3 });
    expect(clientsOf(restored)).toEqual(['b', 'a']);
    expect(restored.snapshot()).toEqual(live.snapshot());
  });

  it('forgets a client\'s oldest publish id first, over many evictions, restored or not', () => {
    // A model of one client's ids: first-recorded order, the oldest out past the bound.
    const perClient = 5;
    const live = new PublishDedup(1_000_000, perClient);
    const model: number[] = [];
    let floor = 0;
    let restored: PublishDedup | undefined;
    // Ids mostly increase, some arrive again (a retry) or out of order; thousands of evictions
    // take the order array through its compaction.
    for (let i = 1; i <= 5000; i++) {
      const pid = i % 7 === 0 ? i - 3 : i % 11 === 0 ? i + 2 : i;
      for (const t of restored === undefined ? [live] : [live, restored]) t.record('a', pid, { topic: 'x', seq: i });
      if (!model.includes(pid)) model.push(pid);
      if (model.length > perClient) floor = Math.max(floor, model.shift()!);
      if (i === 2500) (restored = new PublishDedup(1_000_000, perClient)).restore(live.snapshot());
    }
    for (const t of [live, restored!]) {
      const [[, tFloor, entries]] = t.snapshot() as [[string, number, Array<[number, string, number]>]];
      expect(entries.map(([pid]) => pid)).toEqual(model);
      expect(tFloor).toBe(floor);
      expect(t.lookup('a', model[0]!).kind).toBe('dup');
      expect(t.lookup('a', floor).kind).toBe(model.includes(floor) ? 'dup' : 'stale');
    }
  });

  it('answers every lookup as a plain list of remembered ids would, ids in or out of order', () => {
    // The model: the client's ids in first-recorded order with their seqs, the oldest out past the bound.
    for (let seed = 1; seed <= 40; seed++) {
      const random = prng(seed);
      const perClient = 1 + Math.floor(random() * 40);
      const t = new PublishDedup(1_000_000, perClient);
      const model: Array<[number, number]> = [];
      let floor = 0;
      let next = 1;
      for (let i = 1; i <= 3000; i++) {
        const r = random();
        // Mostly the next id; sometimes a gap, a retry of a recent id, or an older id arriving late.
        const pid = r < 0.8 ? next++ : r < 0.88 ? (next += 1 + Math.floor(random() * 5)) : Math.max(1, next - 1 - Math.floor(random() * perClient * 2));
        const probe = Math.max(1, next - Math.floor(random() * perClient * 3));
        const known = model.find(([p]) => p === probe);
        expect(t.lookup('a', probe)).toEqual(known !== undefined ? { kind: 'dup', hit: { topic: 'x', seq: known[1] } } : probe <= floor ? { kind: 'stale' } : { kind: 'new' });
        t.record('a', pid, { topic: 'x', seq: i });
        const at = model.findIndex(([p]) => p === pid);
        if (at >= 0) model[at] = [pid, i];
        else model.push([pid, i]);
        if (model.length > perClient) floor = Math.max(floor, model.shift()![0]);
      }
      const [[, tFloor, entries]] = t.snapshot() as [[string, number, Array<[number, string, number]>]];
      expect(entries.map(([pid, , seq]) => [pid, seq])).toEqual(model);
      expect(tFloor).toBe(floor);
    }
  });

  it('does not throw on a snapshot that lists a client twice', () => {
    // Counted as 4 ids, held as 2: evicting every client cannot bring the count under the bound.
    const t = new PublishDedup(1);
    t.restore([['a', 0, [[1, 'x', 1], [2, 'x', 2]]], ['a', 0, [[3, 'x', 3], [4, 'x', 4]]]]);
    expect(() => t.record('b', 1, { topic: 'x', seq: 5 })).not.toThrow();
    t.record('c', 1, { topic: 'x', seq: 6 });
    expect(t.lookup('c', 1).kind).toBe('dup');
  });
});
