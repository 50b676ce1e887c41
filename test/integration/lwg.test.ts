// Proves lightweight groups with three real broker processes (R = 2 owners per group): a broker
// keeps only the groups it owns and the topics its clients want, and receives only stubs of the
// rest; a subscriber there loads the topic from an owner at a known stream position and follows
// it with no gap and no duplicate; a publish through a broker that keeps nothing is answered by
// the group's server; when owners change with the view, state moves to the new owner before an
// old one lets go, so the topic survives the loss of every broker that held it at first, one at
// a time; the brokers where a busy group's traffic is claim it, and the owner that served neither
// lets its copy go; a wildcard subscriber makes its broker keep everything. The property checker reads
// every core log after each test.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../client/index.js';
import { applyMergePatch } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness, since } from '../helpers/mesh.js';
import { Condition, within } from '../helpers/wait.js';

const mesh = new MeshHarness();
afterEach((context) => mesh.finish(context.task.name));

interface ClusterInfo {
  broker: string;
  view: { members: string[] };
  kept: { filtered: number; stubs: number; snapshotsSent: number; snapshotsLoaded: number; topics: number };
  lwgs: Array<{ lwg: number; owners: string[]; sequencer: string; holders: Array<{ broker: string; ready: boolean }>; members: string[]; topics: number }>;
}

async function info(b: BrokerProcess): Promise<ClusterInfo> {
  return (await (await fetch(`${b.httpUrl}/api/v1/cluster`)).json()) as ClusterInfo;
}

const nameOf = (member: string): string => member.split('#')[0]!;


/** A topic of the form `prefix.N` whose group has every owner in `owners` (broker names) — and no other. */
async function topicOwnedBy(b: BrokerProcess, prefix: string, owners: string[]): Promise<{ topic: string; lwg: number }> {
  const cluster = await info(b);
  const { lwgOf } = await import('../../lightweight-groups/index.js');
  for (let n = 0; n < 10_000; n++) {
    const topic = `${prefix}.${n}`;
    const lwg = lwgOf(topic, cluster.lwgs.length);
    const names = cluster.lwgs[lwg]!.owners.map(nameOf).sort();
    if (names.join() === [...owners].sort().join()) return { topic, lwg };
  }
  throw new Error(`no topic owned by ${owners.join()}`);
}

describe('lightweight groups', () => {
  it('a broker keeps only what it owns or its clients want; a subscriber there loads the topic and follows it exactly', async () => {
    const brokers = await mesh.start(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    // A topic owned by b0 and b1: b2 keeps nothing of it.
    const { topic, lwg } = await topicOwnedBy(b0, 'lwg.room', ['b0', 'b1']);
    const owner = await mesh.client(b0.url);
    const outsider = await mesh.client(b2.url);
    // Published through b2, which keeps nothing of the group: the group's server answers.
    const acks = await within(Promise.all(Array.from({ length: 60 }, (_, n) => outsider.publish(topic, { [`k${n % 5}`]: n }, { kind: 'patch' }))), 20_000, 'acks');
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const before = await info(b2);
    expect(before.lwgs[lwg]!.topics).toBe(0);
    expect(before.lwgs[lwg]!.members.map(nameOf).sort()).toEqual(['b0', 'b1']);
    expect((await info(b0)).lwgs[lwg]!.topics).toBe(1);
    // A subscriber with state at b2 while more is published through b1: b2 wants the topic,
    // loads it from the server at its `want`'s position, and follows from there.
    const reference: Message[] = [];
    const arrived = new Condition();
    const watcher = await mesh.client(b0.url);
    const watched = await watcher.subscribe(topic, (m) => (reference.push(m), arrived.notify()), { state: true });
    const via1 = await mesh.client(b1.url);
    const more = Array.from({ length: 40 }, (_, n) => via1.publish(topic, { late: n }, { kind: 'patch' }));
    const got: Message[] = [];
    const sub = await outsider.subscribe(topic, (m) => (got.push(m), arrived.notify()), { state: true });
    await within(Promise.all(more), 20_000, 'the second batch');
    await arrived.wait(() => sub.seq === 100 && watched.seq === 100, 20_000, 'both subscribers to reach seq 100');
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 100 - sub.snapshot!.seq }, (_, i) => sub.snapshot!.seq + 1 + i));
    let state = sub.snapshot!.state;
    for (const m of got) state = applyMergePatch(state, m.data);
    let expected = watched.snapshot!.state;
    for (const m of reference) expected = applyMergePatch(expected, m.data);
    expect(state).toEqual(expected);
    const during = await info(b2);
    expect(during.lwgs[lwg]!.topics).toBe(1);
    expect(during.lwgs[lwg]!.members.map(nameOf)).toContain('b2');
    expect(during.kept.snapshotsLoaded).toBeGreaterThanOrEqual(1);
    // b2's `want` came after the first 60 on the stream: it had delivered them, as stubs.
    expect(during.kept.stubs).toBeGreaterThanOrEqual(60);
    // The last local subscriber goes: b2 lets the topic go and leaves the group's audience.
    const fresh = since();
    await sub.unsubscribe();
    expect((await info(b2)).lwgs[lwg]!.topics).toBe(0);
    await b2.waitForEvent((e) => fresh(e) && e['event'] === 'lwg-idle' && e['lwg'] === lwg, 20_000, 'b2 to leave the audience');
    const stubsBefore = (await info(b2)).kept.stubs;
    await owner.publish(topic, { after: true }, { kind: 'patch' });
    await arrived.wait(() => watched.seq === 101, 20_000, 'the owner side to see seq 101');
    // Subscribing again: the new `want` is ordered after that publish, which b2 got as a stub.
    const again = await outsider.subscribe(topic, () => {}, { state: true });
    expect(again.snapshot!.seq).toBe(101);
    expect(again.snapshot!.state).toEqual(applyMergePatch(expected, { after: true }));
    expect((await info(b2)).kept.stubs).toBeGreaterThan(stubsBefore);
    const metrics = await (await fetch(`${b2.httpUrl}/metrics`)).text();
    expect(Number(/^chorus_lwg_stubs_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(stubsBefore);
    expect(metrics).toMatch(/^chorus_lwg_snapshots_total\{direction="loaded"\} [1-9]/m);
  });

  it('moves state to new owners before old ones let go: a topic survives losing, one at a time, every broker that first held it', async () => {
    const brokers = await mesh.start(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const { topic, lwg } = await topicOwnedBy(b0, 'lwg.keep', ['b0', 'b1']);
    const publisher = await mesh.client(b2.url);
    for (let n = 0; n < 50; n++) void publisher.publish(topic, { n }, { kind: 'state' });
    await publisher.flush();
    // b0 dies: b2 becomes an owner and loads the group from b1.
    const first = (await b0.waitForEvent((e) => e['event'] === 'cluster-start', 1000, 'b0 id'))['member'] as string;
    mesh.killed.push(first);
    let fresh = since();
    expect(await b0.stop('SIGKILL')).toBe(null);
    await b2.waitForEvent((e) => fresh(e) && e['event'] === 'lwg-loaded' && e['lwg'] === lwg && e['topics'] === 1, 20_000, 'b2 to load the group');
    // The state transfer is timed (chorus_lwg_load_seconds): at least this load, none of them negative.
    const scrape = await (await fetch(`${b2.httpUrl}/metrics`)).text();
    expect(Number(/^chorus_lwg_load_seconds_count (\d+)$/m.exec(scrape)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^chorus_lwg_load_seconds_sum (\S+)$/m.exec(scrape)?.[1])).toBeGreaterThan(0);
    // … and its bytes: the snapshot held the topic with a state and 50 messages of history.
    expect(Number(/^chorus_lwg_snapshot_bytes_total\{direction="loaded"\} (\d+)$/m.exec(scrape)?.[1])).toBeGreaterThan(50 * 10);
    // b0 comes back (it owns the group again, by name): it loads it, and then b2 lets it go.
    fresh = since();
    brokers[0] = await startBrokerProcess(mesh.argsOf[0]!);
    await brokers[0].waitForEvent((e) => e['event'] === 'lwg-loaded' && e['lwg'] === lwg && e['topics'] === 1, 20_000, 'the new b0 to load the group');
    await b2.waitForEvent((e) => fresh(e) && e['event'] === 'lwg-released' && e['lwg'] === lwg, 20_000, 'b2 to let the group go');
    // b1, the last broker that held the topic from the start, dies: the new b0 has it.
    const second = (await b1.waitForEvent((e) => e['event'] === 'cluster-start', 1000, 'b1 id'))['member'] as string;
    mesh.killed.push(second);
    fresh = since();
    expect(await b1.stop('SIGKILL')).toBe(null);
    await b2.waitForEvent((e) => fresh(e) && e['event'] === 'lwg-loaded' && e['lwg'] === lwg && e['topics'] === 1, 20_000, 'b2 to load the group again');
    for (const b of [brokers[0], b2]) {
      const t = (await (await fetch(`${b.httpUrl}/api/v1/topics/${topic}`)).json()) as { seq: number; state: unknown };
      expect(t).toMatchObject({ seq: 50, state: { n: 49 } });
    }
    const holders = (await info(b2)).lwgs[lwg]!.holders;
    expect(holders.map((h) => nameOf(h.broker)).sort()).toEqual(['b0', 'b2']);
  });

  it('a broker taking nearly all of a group\'s publishes orders its stream; the others follow in one order, and the stream goes back when it dies', async () => {
    // Three messages a second suffice here (20 by default), so that a loaded machine still asks.
    const brokers = await mesh.start(3, { CHORUS_TAKEOVER_MESSAGES: '3' });
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const { topic, lwg } = await topicOwnedBy(b0, 'lwg.moved', ['b0', 'b1']);
    const placed = (await info(b0)).lwgs[lwg]!.sequencer;
    expect(['b0', 'b1']).toContain(nameOf(placed));
    const got: Message[] = [];
    const arrived = new Condition();
    const watcher = await mesh.client(b0.url);
    const sub = await watcher.subscribe(topic, (m) => (got.push(m), arrived.notify()), { state: true });
    // b2 (no owner) publishes one at a time until it orders the stream itself.
    const publisher = await mesh.client(b2.url);
    let sent = 0;
    while (sent < 2000 && nameOf((await info(b2)).lwgs[lwg]!.sequencer) !== 'b2') {
      for (let k = 0; k < 10; k++) await within(publisher.publish(topic, { from: 'b2', n: sent++ }), 20_000, 'a publish');
    }
    const mover = await mesh.memberOf(2);
    for (const b of brokers) expect((await info(b)).lwgs[lwg]!.sequencer).toBe(mover);
    const scrape = await (await fetch(`${b2.httpUrl}/metrics`)).text();
    expect(Number(/^chorus_lwg_takeovers_total (\d+)$/m.exec(scrape)?.[1])).toBeGreaterThanOrEqual(1);
    // An owner's publishes are now ordered at b2: both publishers' reach the subscriber in one order.
    const other = await mesh.client(b1.url);
    const acks = await within(Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? publisher : other).publish(topic, { n: sent + n }))), 20_000, 'mixed acks');
    sent += 40;
    expect(new Set(acks.map((a) => a.seq)).size).toBe(40);
    // b2 dies: the next view places the stream where it was, and b1's publishes go on.
    await mesh.kill(2);
    const after = await within(Promise.all(Array.from({ length: 20 }, (_, n) => other.publish(topic, { n: sent + n }))), 30_000, 'acks after b2 died');
    sent += 20;
    expect(after.map((a) => a.seq)).toEqual(Array.from({ length: 20 }, (_, i) => sent - 19 + i));
    expect((await info(b0)).lwgs[lwg]!.sequencer).toBe(placed);
    await arrived.wait(() => sub.seq === sent, 20_000, `the subscriber to reach seq ${sent}`);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(new Set(got.map((m) => JSON.stringify(m.data))).size).toBe(sent);
  });

  it('the brokers where a busy group\'s traffic is claim it: the owner that served neither lets its copy go, and the claimed copy is an owner\'s', async () => {
    // 300 bytes a second suffice here (64 KiB by default), so that a loaded machine still claims.
    const brokers = await mesh.start(3, { CHORUS_CLAIM_BYTES: '300' });
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    // Owned by b0 and b1; published at b0, subscribed at b2: b1 serves neither.
    const { topic, lwg } = await topicOwnedBy(b0, 'lwg.claimed', ['b0', 'b1']);
    const got: Message[] = [];
    const arrived = new Condition();
    const watcher = await mesh.client(b2.url);
    const sub = await watcher.subscribe(topic, (m) => (got.push(m), arrived.notify()), { state: true });
    const publisher = await mesh.client(b0.url);
    let sent = 0;
    const handedOver = async (): Promise<boolean> => {
      const group = (await info(b1)).lwgs[lwg]!;
      return group.owners.map(nameOf).sort().join() === 'b0,b2' && group.holders.length === 2 && group.holders.every((h) => h.ready && nameOf(h.broker) !== 'b1');
    };
    while (sent < 3000 && !(await handedOver())) {
      for (let k = 0; k < 10; k++) await within(publisher.publish(topic, { n: sent++ }), 20_000, 'a publish');
    }
    expect(await handedOver()).toBe(true);
    // The tables agree, b1 keeps nothing of the group, and b2 said so in its metrics.
    for (const b of brokers) expect((await info(b)).lwgs[lwg]!.owners.map(nameOf).sort()).toEqual(['b0', 'b2']);
    await arrived.wait(() => sub.seq === sent, 20_000, `the subscriber to reach seq ${sent}`);
    expect((await info(b1)).lwgs[lwg]!.topics).toBe(0);
    const scrape = await (await fetch(`${b2.httpUrl}/metrics`)).text();
    expect(Number(/^chorus_lwg_claims_total (\d+)$/m.exec(scrape)?.[1])).toBeGreaterThanOrEqual(1);
    // b0 dies: b2's copy is complete (an owner's), and b1 loads the group from it again.
    await mesh.kill(0);
    const other = await mesh.client(b1.url);
    const after = await within(Promise.all(Array.from({ length: 20 }, (_, n) => other.publish(topic, { n: sent + n }))), 30_000, 'acks after b0 died');
    expect(after.map((a) => a.seq)).toEqual(Array.from({ length: 20 }, (_, i) => sent + 1 + i));
    sent += 20;
    await arrived.wait(() => sub.seq === sent, 20_000, `the subscriber to reach seq ${sent}`);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(got.map((m) => (m.data as { n: number }).n)).toEqual(Array.from({ length: sent }, (_, i) => i));
  });

  it('a wildcard subscriber makes its broker keep every group', async () => {
    const brokers = await mesh.start(3);
    const [b0, , b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const { topic } = await topicOwnedBy(b0, 'lwg.wild', ['b0', 'b1']);
    const watcher = await mesh.client(b2.url);
    const got: Message[] = [];
    const arrived = new Condition();
    await watcher.subscribe('lwg.wild.>', (m) => (got.push(m), arrived.notify()));
    const publisher = await mesh.client(b0.url);
    for (let n = 0; n < 10; n++) void publisher.publish(topic, n);
    await publisher.flush();
    await arrived.wait(() => got.length === 10, 20_000, 'the wildcard subscriber');
    expect(got.map((m) => m.data)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const cluster = await info(b2);
    expect(cluster.lwgs.every((g) => g.holders.some((h) => nameOf(h.broker) === 'b2'))).toBe(true);
  });
});
