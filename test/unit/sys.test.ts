// The pure parts of `$sys` (broker/topics/sys.ts) and who may read it (broker/auth): rates from
// counters and topic seqs, latency quantiles from a histogram's buckets read as Prometheus does,
// the view log; `$sys` allowed only by a grant that names it, the API key (HTTP and WebSocket)
// and anonymous mode without an API key; wildcard subscriptions never receive system topics.
import { describe, expect, it } from 'vitest';
import { Authenticator, allows, allPermissions, type Permissions } from '../../broker/auth/index.js';
import { CounterRate, LatencyWindow, SubscriberIndex, TopicRates, ViewLog, quantile, type Buckets, type Subscriber } from '../../broker/topics/index.js';
import type { HistoryEntry } from '../../broker/topics/index.js';

describe('$sys figures', () => {
  it('takes a counter rate over a sliding window', () => {
    const r = new CounterRate();
    expect(r.sample(0, 100)).toBe(0);
    expect(r.sample(1000, 150)).toBe(50);
    expect(r.sample(2000, 250)).toBe(75);
    // After the window (10 s) the oldest samples go: only the last ten seconds count.
    for (let t = 3000; t <= 20_000; t += 1000) r.sample(t, 250 + (t - 2000) / 10);
    expect(r.sample(21_000, 250 + 1900)).toBeCloseTo(100, 5);
    r.reset();
    expect(r.sample(22_000, 5000)).toBe(0);
  });

  it('ranks topics by messages per second from their seqs, the busiest first, at most max', () => {
    const rates = new TopicRates();
    expect(rates.sample(0, [['a', 1], ['b', 5], ['c', 0]])).toEqual([]);
    const top = rates.sample(2000, [['a', 21], ['b', 9], ['c', 0], ['d', 50]], 2);
    // d is new (counted from the next sample); c did not move.
    expect(top).toEqual([['a', 10, 21], ['b', 2, 9]]);
    const many = Array.from({ length: 30 }, (_, i): [string, number] => [`t${i}`, i]);
    rates.sample(3000, many);
    const next = rates.sample(4000, many.map(([n, s]) => [n, s * 2]));
    expect(next.map(([n]) => n)).toEqual(['t29', 't28', 't27', 't26', 't25', 't24', 't23', 't22', 't21', 't20']);
    expect(next[0]![1]).toBe(29);
  });

  it('reads quantiles from cumulative buckets as histogram_quantile does', () => {
    const b: Buckets = [[0.001, 0], [0.01, 50], [0.1, 99], [1, 100], [Infinity, 100]];
    expect(quantile(0.5, b)).toBeCloseTo(0.01, 9);
    expect(quantile(0.99, b)).toBeCloseTo(0.1, 9);
    expect(quantile(0.25, b)).toBeCloseTo(0.001 + 0.009 / 2, 9);
    expect(quantile(0.5, [[0.1, 0], [Infinity, 0]])).toBeNull();
    // Past the last finite bound: that bound.
    expect(quantile(0.99, [[0.1, 1], [Infinity, 10]])).toBe(0.1);
  });

  it('takes latency over the window: what was observed before it does not count', () => {
    const w = new LatencyWindow();
    const at = (fast: number, slow: number): Buckets => [[0.001, fast], [1, fast + slow], [Infinity, fast + slow]];
    expect(w.sample(0, at(1000, 0))).toEqual({ p50: null, p99: null, count: 0 });
    const s = w.sample(1000, at(1000, 10));
    expect(s.count).toBe(10);
    expect(s.p50).toBeGreaterThan(0.001);
  });

  it('keeps the last ten views, copied', () => {
    const log = new ViewLog();
    const members = ['a#1'];
    for (let id = 1; id <= 12; id++) log.add({ id, members, primary: true }, id * 1000);
    members.push('mutated');
    expect(log.views.map((v) => v.id)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(log.views[0]!.members).toEqual(['a#1']);
  });
});

describe('who may read $sys', () => {
  it('is allowed only by a grant that names it, never by a wildcard grant', () => {
    const wide: Permissions = { publish: ['>'], subscribe: ['>'], presence: ['>'] };
    expect(allows(wide, 'subscribe', '$sys')).toBe(false);
    expect(allows(wide, 'subscribe', '$rooms')).toBe(true);
    expect(allows({ ...wide, subscribe: ['$sys'] }, 'subscribe', '$sys')).toBe(true);
    expect(allows(allPermissions, 'subscribe', '$sys')).toBe(false);
  });

  it('takes the API key as a WebSocket token and as an HTTP Bearer; anonymous mode without a key lets everyone', async () => {
    const apiKey = 'an-api-key-of-16+chars';
    const keyed = new Authenticator({ origins: '*', tokenGraceMs: 1000, apiKey });
    const ws = await keyed.client(apiKey);
    expect(ws.ok && allows(ws.identity.permissions, 'subscribe', '$sys')).toBe(true);
    expect(ws.ok && ws.identity.credential).toBe('api-key');
    const stranger = await keyed.client('not-the-key');
    expect(stranger.ok && allows(stranger.identity.permissions, 'subscribe', '$sys')).toBe(false);
    expect(stranger.ok && allows(stranger.identity.permissions, 'subscribe', 'room.1')).toBe(true);
    const http = await keyed.http(`Bearer ${apiKey}`);
    expect(http.ok && allows(http.identity.permissions, 'subscribe', '$sys')).toBe(true);
    expect((await keyed.http(undefined)).ok).toBe(false);
    const open = new Authenticator({ origins: '*', tokenGraceMs: 1000 });
    for (const verified of [await open.client(undefined), await open.http(undefined)]) {
      expect(verified.ok && allows(verified.identity.permissions, 'subscribe', '$sys')).toBe(true);
    }
  });
});

describe('system topics and wildcards', () => {
  it('delivers a system topic to its exact subscribers only', () => {
    const index = new SubscriberIndex();
    const got: string[] = [];
    const subscriber = (name: string): Subscriber => ({ id: name, client: name, deliver: () => got.push(name), deliverMessage: () => got.push(name) });
    const all = subscriber('all');
    const exact = subscriber('exact');
    index.addPattern(all, '>');
    index.addExact(exact, '$sys', { watchesPresence: false, inPresence: false });
    const entry = { seq: 1 } as unknown as HistoryEntry;
    index.message('$sys', 1, entry);
    index.message('$rooms', 1, entry);
    index.message('room.1', 1, entry);
    expect(got).toEqual(['exact', 'all']);
  });
});
