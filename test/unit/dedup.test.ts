// Proves the publish de-duplication table's order rules: it evicts the least recently recorded
// client first, and every copy that applied the same commands — or restored a snapshot and then
// applied them — holds the same order (snapshots and evictions depend on it).
import { describe, expect, it } from 'vitest';
import { PublishDedup } from '../../broker/topics/dedup.js';

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
});
