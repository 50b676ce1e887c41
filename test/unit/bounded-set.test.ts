// The core's de-duplication window: it keeps the newest `sizeMax` members and forgets the oldest
// first, however many it has forgotten before.
import { describe, expect, it } from 'vitest';
import { BoundedSet } from '../../broker/core/bounded-set.js';

describe('BoundedSet', () => {
  it('forgets its oldest members first, and an add of a member it has moves nothing', () => {
    const s = new BoundedSet<string>(3);
    for (const k of ['a', 'b', 'c', 'a', 'd']) s.add(k);
    expect(s.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((k) => s.has(k))).toEqual([false, true, true, true]);
  });

  it('keeps exactly the newest members through thousands of evictions', () => {
    const s = new BoundedSet<number>(100);
    for (let i = 0; i < 10_000; i++) s.add(i);
    expect(s.size).toBe(100);
    expect(s.has(9_899)).toBe(false);
    for (let i = 9_900; i < 10_000; i++) expect(s.has(i)).toBe(true);
  });
});
