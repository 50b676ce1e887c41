// The claim policy (broker/node/claim-policy.ts): when a broker claims a group to own it, and when
// it withdraws. Pure: counts in, claims out, over a table stand-in.
import { describe, expect, it } from 'vitest';
import { ClaimPolicy, type ClaimTable } from '../../broker/node/claim-policy.js';

function tableOf(claims: Record<number, string[]> = {}, waiting: number[] = []): ClaimTable {
  return { config: { replicas: 2 }, claims: (g) => claims[g] ?? [], waiting: (g) => (waiting.includes(g) ? {} : undefined) };
}

function feed(p: ClaimPolicy, lwg: number, all: number, own: number): void {
  for (let i = 0; i < all; i++) p.delivered(lwg, 1, i < own ? 1 : 0);
}

describe('ClaimPolicy', () => {
  const settings = { lookMs: 1000, bytesMin: 100, shareMin: 0.5, releaseShare: 0.2, releaseLooks: 3 };

  it('claims a busy group whose traffic is mostly its own, once a look, and not a quiet or shared one', () => {
    const p = new ClaimPolicy(settings);
    feed(p, 1, 200, 150); // busy, 75 % own
    feed(p, 2, 99, 99); // quiet
    feed(p, 3, 200, 80); // busy, 40 % own
    expect(p.look(0, 'a#1', tableOf())).toEqual([{ op: 'claim', lwg: 1 }]);
    feed(p, 1, 200, 200);
    expect(p.look(500, 'a#1', tableOf())).toEqual([]); // not a look yet: counting goes on
    expect(p.look(1000, 'a#1', tableOf())).toEqual([{ op: 'claim', lwg: 1 }]); // its claim not delivered yet: said again
    expect(p.claimedTotal).toBe(2);
  });

  it('does not claim where R claims stand, while the group waits for a copy, or without a member id', () => {
    const p = new ClaimPolicy(settings);
    feed(p, 0, 200, 200);
    feed(p, 1, 200, 200);
    feed(p, 2, 200, 200);
    expect(p.look(0, 'a#1', tableOf({ 0: ['b#1', 'c#1'], 2: ['b#1'] }, [1]))).toEqual([{ op: 'claim', lwg: 2 }]);
    feed(p, 0, 200, 200);
    expect(p.look(1000, undefined, tableOf())).toEqual([]);
  });

  it('withdraws after releaseLooks busy looks in a row under releaseShare; a better look or a quiet one does not count', () => {
    const p = new ClaimPolicy(settings);
    const mine = tableOf({ 4: ['a#1'] });
    let now = 0;
    const look = (all: number, own: number): unknown => {
      feed(p, 4, all, own);
      return p.look((now += 1000), 'a#1', mine);
    };
    expect(look(200, 10)).toEqual([]);
    expect(look(200, 10)).toEqual([]);
    expect(look(200, 100)).toEqual([]); // 50 %: the count starts again
    expect(look(200, 10)).toEqual([]);
    expect(look(50, 0)).toEqual([]); // quiet: neither counts nor resets
    expect(look(200, 10)).toEqual([]);
    expect(look(200, 10)).toEqual([{ op: 'unclaim', lwg: 4 }]);
    expect(p.unclaimedTotal).toBe(1);
  });

  it('weighs multicasts by their bytes: many small ones of its own are not half of a group carried in big batches', () => {
    const p = new ClaimPolicy(settings);
    for (let i = 0; i < 50; i++) p.delivered(0, 200, 200); // its own lone publishes
    for (let i = 0; i < 50; i++) p.delivered(0, 20_000, 0); // another broker's batches
    for (let i = 0; i < 10; i++) p.delivered(1, 1000, 500); // half of each of another's batches subscribed here
    expect(p.look(0, 'a#1', tableOf())).toEqual([{ op: 'claim', lwg: 1 }]);
  });

  it('refuses settings that would let claims flap', () => {
    expect(() => new ClaimPolicy({ shareMin: 0 })).toThrow(/shareMin/);
    expect(() => new ClaimPolicy({ shareMin: 0.5, releaseShare: 0.5 })).toThrow(/releaseShare/);
    expect(() => new ClaimPolicy({ releaseLooks: 0 })).toThrow(/releaseLooks/);
    expect(() => new ClaimPolicy({ bytesMin: 0 })).toThrow(/bytesMin/);
  });
});
