// Proves the topic listing's page selection (broker/server/http-topics.ts): the `count` smallest
// names after the cursor that the filter keeps, in name order, whatever order the table holds
// them in — checked against a plain sort on seeded random names, and pages chained by cursor
// cover every kept name once.
import { describe, expect, it } from 'vitest';
import { smallestAfter } from '../../broker/server/http-topics.js';
import { prng } from '../helpers/prng.js';

describe('topic pages', () => {
  it('equals filter-sort-slice on random names, and chained pages cover every kept name once', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = prng(seed);
      const names = Array.from({ length: 500 }, (_, i) => `t${Math.floor(random() * 1e6).toString(36)}.${i % 7}`);
      const keep = (n: string): boolean => !n.endsWith('.3');
      const kept = [...new Set(names.filter(keep))].sort();
      for (const count of [1, 2, 7, 100, 1000]) {
        const after = kept[Math.floor(random() * kept.length)];
        expect(smallestAfter(names, after, count, keep)).toEqual(kept.filter((n) => n > after!).slice(0, count));
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = smallestAfter(new Set(names), cursor, 33, keep);
        seen.push(...page);
        if (page.length < 33) break;
        cursor = page[page.length - 1];
      }
      expect(seen).toEqual(kept);
    }
  });
});
