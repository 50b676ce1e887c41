// Proves seed discovery through DNS with the system resolver: a name resolves to sorted cluster
// addresses (SRV records when there are some, else A/AAAA records with the cluster port).
import { describe, expect, it } from 'vitest';
describe('seeds through DNS', () => {
  it('resolves a name to sorted cluster addresses (A records, with the cluster port)', async () => {
    const { resolveSeeds } = await import('../../broker/mesh/seeds.js');
    const seeds = await resolveSeeds('localhost', 7946);
    expect(seeds.length).toBeGreaterThan(0);
    expect(seeds.every((s) => /^(127\.0\.0\.1|\[::1\]):7946$/.test(s))).toBe(true);
    expect([...seeds].sort()).toEqual(seeds);
  });
});
