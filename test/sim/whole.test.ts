// Whole brokers in the simulator: the product's BrokerNode (core member, topic table, mesh stream,
// replicas) with simulated clients built on the client library's own subscription logic, under
// seeded faults (kill -9 and restart, pauses past the suspicion timeout, minority isolation, loss,
// duplication, delay), checked against what clients are promised (T1–T6, whole/checker.ts) and
// the core's properties. Each topic predicate is first shown to catch a hand-made bad record.
import { describe, expect, it } from 'vitest';
import { Subscription } from '../../client/subscription.js';
import { checkTopics, type TopicRun } from './whole/checker.js';
import type { Ack, SubscriptionRecord } from './whole/clients.js';
import { replayFlags, runWhole } from './whole/run.js';
import { wholeRegressions, wholeRun, wholeSuites } from './seeds.js';

function record(topic: string, firstSeq: number, delivered: Array<[number, unknown, string?]>, extra: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const sub = new Subscription(topic, false, () => {}, { state: true }, () => Promise.resolve());
  const last = delivered.at(-1)?.[0] ?? firstSeq;
  sub.confirm({ type: 'reply', id: 1, topic, seq: last, epoch: 'e1', state: extra.sub?.state ?? null });
  return {
    client: 's0',
    topic,
    wire: [{ type: 'reply', seq: firstSeq, epoch: 'e1' }],
    delivered: delivered.map(([seq, data, kind]) => ({ seq, data, kind: kind ?? 'event', epoch: 'e1' })),
    resyncs: [],
    firstSeq,
    errors: [],
    ...extra,
    sub,
  };
}

const ack = (seq: number, n: number, kind: 'event' | 'state' = 'event'): Ack => ({ client: 'p0', pid: n, topic: 't', seq, data: { c: 'p0', n }, kind, dup: false });
const d = (n: number): { c: string; n: number } => ({ c: 'p0', n });

function good(): TopicRun {
  return {
    subscriptions: [record('t', 0, [[1, d(1)], [2, d(2)], [3, d(3)]])],
    acks: [ack(1, 1), ack(2, 2), ack(3, 3)],
    publishErrors: [],
    copies: [{ broker: 'b0#1', topic: 't', epoch: 'e1', seq: 3, state: null, history: [1, 2, 3].map((n) => ({ seq: n, data: d(n), kind: 'event' })) }],
  };
}

describe('topic predicates catch their bugs', () => {
  it('a good run passes', () => {
    expect(checkTopics(good())).toEqual([]);
  });

  const cases: Array<[string, (run: TopicRun) => void]> = [
    ['T1', (run) => void (run.copies[0]!.history[1]!.data = d(9))],
    ['T2', (run) => void (run.subscriptions[0] = record('t', 0, [[1, d(1)], [3, d(3)]]))],
    ['T2', (run) => void (run.subscriptions[0]!.resyncs.push({ recovered: false, seq: 0 }))],
    ['T3', (run) => void run.acks.push(ack(4, 4))],
    ['T4', (run) => void run.acks.push({ ...ack(5, 2) })],
    ['T5', (run) => void (run.copies[0]!.state = { stale: true })],
    ['T6', (run) => void run.subscriptions[0]!.errors.push('ended by a refusal 401: not allowed')],
    ['T6', (run) => void run.publishErrors.push('publish 7 to t refused: 300 too large')],
  ];
  for (const [property, breakIt] of cases) {
    it(`${property} catches ${breakIt.toString().slice(15, 90)}`, () => {
      const run = good();
      breakIt(run);
      expect(checkTopics(run).map((v) => v.property)).toContain(property);
    });
  }

  it('T5 folds the sequence: the last state command wins, events leave it', () => {
    const run = good();
    run.copies[0]!.history[1] = { seq: 2, data: d(2), kind: 'state' };
    run.acks[1] = ack(2, 2, 'state');
    run.subscriptions[0]!.delivered[1]!.kind = 'state';
    run.copies[0]!.state = d(2);
    run.subscriptions[0]!.sub.state = d(2);
    expect(checkTopics(run)).toEqual([]);
    run.copies[0]!.state = d(3);
    expect(checkTopics(run).map((v) => v.property)).toEqual(['T5']);
  });
});

describe('whole brokers under seeded faults', () => {
  // 1,080 runs in all (about 175 s on an idle 2-core machine).
  it.each(wholeRegressions)('regression: seed $seed, $brokers brokers ($caught)', (regression) => {
    expect(runWhole(wholeRun(regression)).report).toBe('');
  });

  for (const suite of wholeSuites) {
    const { brokers, seeds, star, replicas, leaves, batching, cutOwners, moves, claims, ackRounds } = suite;
    it(`${seeds} runs of ${brokers} brokers${star === true ? ', heartbeats in a star' : ''}${leaves === true ? ', graceful leaves' : ''}${batching === true ? ', commands in batches' : ''}${cutOwners === true ? ', every owner of a group cut off' : ''}${moves === true ? ', streams taken over' : ''}${claims === true ? ', groups claimed' : ''}${ackRounds === undefined ? '' : `, ${ackRounds} ack rounds a tick`}${replicas === undefined ? '' : `, ${replicas} owners a group`}`, () => {
      const failed: string[] = [];
      let salvaged = 0;
      let takeovers = 0;
      let claimsSaid = 0;
      let claimedGroups = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const options = wholeRun(suite, seed);
        const result = runWhole(options);
        salvaged += result.stats.salvaged;
        takeovers += result.stats.takeovers;
        claimsSaid += result.stats.claims;
        claimedGroups += result.stats.claimedGroups;
        if (!result.ok) failed.push(`seed ${seed} (npm run sim -- --whole --seed ${seed}${replayFlags(options)}):\n${result.report.split('\n').slice(0, 6).join('\n')}`);
      }
      expect(failed.join('\n\n')).toBe('');
      // The mode does what it says: groups did wait and come back to kept copies.
      if (cutOwners === true) expect(salvaged).toBeGreaterThan(seeds / 2);
      // Streams were taken over, several times a run.
      if (moves === true) expect(takeovers).toBeGreaterThan(seeds * 3);
      // Groups were claimed and claims withdrawn, several times a run, and claims moved owners: most
      // runs end with groups owned where their traffic was (each run also checks that every group
      // is then held by exactly its owners, L2).
      if (claims === true) expect(claimsSaid).toBeGreaterThan(seeds * 3);
      if (claims === true) expect(claimedGroups).toBeGreaterThan(seeds);
    }, 600_000);
  }

  it('runs without faults deliver every publish to every subscriber', () => {
    const result = runWhole({ seed: 7, faults: false });
    expect(result.report).toBe('');
    expect(result.stats.acks).toBeGreaterThan(100);
    expect(result.stats.deliveries).toBeGreaterThan(result.stats.acks);
  });
});
