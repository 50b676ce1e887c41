// Proves the mesh with three real broker processes on loopback: they form one group; publishes
// accepted at every broker get one order per topic, the same at every subscriber; a late
// subscriber loads the state and follows with no gap; kill -9 of a broker during a publish burst
// (a broker, and separately the sequencer of the topic's group) loses no acknowledged publish, and its
// clients resume on another broker, each message once (the time to the new view is printed);
// SIGSTOP of the coordinator and a 2|1 partition (links cut in the test's own proxies,
// test/helpers/link-proxy.ts) heal with a rejoin. After each test the property checker reads every
// broker's core log.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, RequestError, type Client, type Message, type MessageHandler, type SubscribeOptions, type Subscription } from '../../client/index.js';
import { applyMergePatch } from '../../client/protocol/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness, since } from '../helpers/mesh.js';
import { Condition, within } from '../helpers/wait.js';

const mesh = new MeshHarness();
afterEach((context) => mesh.finish(context.task.name));
const startMesh = (size: number) => mesh.start(size);
const client = (urls: string | string[]) => mesh.client(urls);

/**
 * Subscribes through the client's one broker, so that the subscriber stays where the test placed
 * it. A client with one URL takes a NotReady refusal for the answer; the test asks again, three
 * times at most: after the broker installed a view since (one that fell out of the primary view for
 * a moment under load refuses until then), or after 8 s without one (a topic it could not load from
 * its replicas in time: replicas.ts).
 */
async function subscribeOn(broker: BrokerProcess, c: Client, topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription> {
  for (let attempt = 1; ; attempt++) {
    const asked = since();
    try {
      return await c.subscribe(topic, handler, options);
    } catch (err) {
      if (!(err instanceof RequestError) || err.code !== ErrorCode.NotReady || attempt >= 3) throw err;
      await broker.waitForEvent((e) => e['event'] === 'cluster-view' && asked(e), 8_000, `a view after a NotReady subscribe (${err.message})`).catch(() => undefined);
    }
  }
}

describe('the mesh', () => {
  it('orders each topic once for subscribers on every broker, and a late subscriber follows the state', async () => {
    const brokers = await startMesh(3);
    const arrived = new Condition();
    const got: Message[][] = [[], [], []];
    // A subscriber on every broker.
    for (let i = 0; i < 3; i++) await subscribeOn(brokers[i]!, await client(brokers[i]!.url), 'mesh.room', (m) => (got[i]!.push(m), arrived.notify()), { state: true });
    // Each publisher talks to its own broker, with the others as fallbacks (a broker that falls
    // out of the primary view for a moment under load sends its clients elsewhere).
    const publishers = await Promise.all(brokers.map((b, i) => client([b.url, ...brokers.filter((_, j) => j !== i).map((o) => o.url)])));
    const total = 300;
    const acks = Array.from({ length: total }, (_, n) => publishers[n % 3]!.publish('mesh.room', { [`k${n % 7}`]: n }, { kind: n % 4 === 0 ? 'patch' : 'event' }));
    const seqs = (await within(Promise.all(acks), 20_000, 'acks')).map((a) => a.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await arrived.wait(() => got.every((g) => g.length === total), 20_000, 'every subscriber');
    const order = (g: Message[]) => g.map((m) => `${m.seq}:${JSON.stringify(m.data)}`);
    expect(order(got[1]!)).toEqual(order(got[0]!));
    expect(order(got[2]!)).toEqual(order(got[0]!));
    const cluster = (await (await fetch(`${brokers[1]!.httpUrl}/api/v1/cluster`)).json()) as { mode: string; view: { members: string[] }; lwgs: Array<{ sequencer: string; topics: number }> };
    expect(cluster.mode).toBe('mesh');
    expect(cluster.view.members).toHaveLength(3);
    expect(cluster.lwgs).toHaveLength(32);
    expect(cluster.lwgs.reduce((n, g) => n + g.topics, 0)).toBe(1);
    expect(new Set(cluster.lwgs.map((g) => g.sequencer)).size).toBe(3);
    const metrics = await (await fetch(`${brokers[1]!.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/chorus_cluster_primary 1/);
    expect(metrics).toMatch(/chorus_cluster_members 3/);
    expect(metrics).toMatch(/^chorus_cluster_link_bytes_total\{direction="in"\} [1-9]/m);
    expect(metrics).toMatch(/^chorus_cluster_link_bytes_total\{direction="out"\} [1-9]/m);
    // A late subscriber with state, on another broker, while more is published.
    const more = Array.from({ length: 50 }, (_, n) => publishers[0]!.publish('mesh.room', { late: n }, { kind: 'patch' }));
    const late = await client(brokers[2]!.url);
    const lateGot: Message[] = [];
    const sub = await subscribeOn(brokers[2]!, late, 'mesh.room', (m) => (lateGot.push(m), arrived.notify()), { state: true });
    await Promise.all(more);
    await arrived.wait(() => sub.seq === total + 50 && got[0]!.length === total + 50, 20_000, 'the late subscriber to catch up');
    let state = sub.snapshot!.state;
    for (const m of lateGot) if (m.kind === 'patch') state = applyMergePatch(state, m.data);
    let reference: unknown = null;
    for (const m of got[0]!) if (m.kind === 'patch') reference = applyMergePatch(reference, m.data);
    expect(state).toEqual(reference);
    expect(lateGot.map((m) => m.seq)).toEqual(Array.from({ length: total + 50 - sub.snapshot!.seq }, (_, i) => sub.snapshot!.seq + 1 + i));
  }, 60_000);

  it.each(['a broker', "the topic's sequencer"])('loses no acknowledged publish when %s is killed mid-burst, and its clients resume elsewhere', async (role) => {
    const brokers = await startMesh(3);
    const urls = brokers.map((b) => b.url);
    const { lwgOf } = await import('../../lightweight-groups/index.js');
    const cluster = (await (await fetch(`${brokers[0]!.httpUrl}/api/v1/cluster`)).json()) as { lwgs: Array<{ sequencer: string }> };
    const sequencer = Number(cluster.lwgs[lwgOf('mesh.burst', cluster.lwgs.length)]!.sequencer.split('#')[0]!.slice(1));
    // The sequencer, or a broker that is not: its clients fail over, the others stay.
    const v = role === 'a broker' ? (sequencer + 1) % 3 : sequencer;
    const keep = (v + 1) % 3;
    const arrived = new Condition();
    const subscribers = await Promise.all(
      [0, 1, 2].map(async (i) => ({ c: await client([urls[i]!, ...urls.filter((_, j) => j !== i)]), got: [] as number[], at: [] as number[] })),
    );
    for (const s of subscribers) await s.c.subscribe('mesh.burst', (m) => (s.got.push(m.seq), s.at.push(Date.now()), arrived.notify()));
    let reconnected = 0;
    subscribers[v]!.c.on('reconnected', () => reconnected++);
    const publisher = await client([urls[v]!, ...urls.filter((_, j) => j !== v)]);
    const acked: number[] = [];
    const total = 400;
    const burst = (async () => {
      for (let n = 0; n < total; n++) {
        const p = publisher.publish('mesh.burst', { n }).then(({ seq }) => void acked.push(seq));
        if (n % 20 === 19) await p;
      }
      await publisher.flush();
    })();
    await arrived.wait(() => subscribers[keep]!.got.length >= 100, 20_000, 'the burst to be under way');
    const victim = await brokers[v]!.waitForEvent((e) => e['event'] === 'cluster-start', 1000, 'the victim id');
    mesh.killed.push(victim['member'] as string);
    const afterKill = since();
    const killedAt = Date.now();
    expect(await brokers[v]!.stop('SIGKILL')).toBe(null);
    const view = await brokers[keep]!.waitForEvent((e) => afterKill(e) && e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2, 20_000, 'the view without the killed broker');
    await within(burst, 30_000, 'the burst');
    const viewTakenMs = Date.parse(view['ts'] as string) - killedAt;
    expect(viewTakenMs).toBeLessThan(10_000);
    expect(new Set(acked).size).toBe(acked.length);
    const last = Math.max(...acked);
    await arrived.wait(() => subscribers.every((s) => s.got.at(-1) === last), 20_000, 'every subscriber to reach the last acknowledged seq');
    for (const s of subscribers) expect(s.got).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    for (const seq of acked) expect(subscribers[keep]!.got).toContain(seq);
    expect(reconnected).toBeGreaterThanOrEqual(1);
    const resumedMs = (subscribers[keep]!.at.find((t) => t > Date.parse(view['ts'] as string)) ?? NaN) - killedAt;
    console.info(`kill -9 of ${role}: new view after ${viewTakenMs} ms, delivery resumed after ${resumedMs} ms`);
  });

  it('excludes a coordinator stopped past the suspicion timeout; it comes back as a new incarnation with the state', async () => {
    const brokers = await startMesh(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const first = (await b0.waitForEvent((e) => e['event'] === 'cluster-start', 5000, 'start'))['member'] as string;
    const publisher = await client([b1.url, b2.url]);
    for (let n = 0; n < 50; n++) void publisher.publish('mesh.pause', { n }, { kind: 'state' });
    await publisher.flush();
    process.kill(b0.pid, 'SIGSTOP');
    try {
      await b1.waitForEvent((e) => e['event'] === 'cluster-view' && !(e['members'] as string[]).includes(first), 20_000, 'a view without the stopped coordinator');
      for (let n = 50; n < 80; n++) void publisher.publish('mesh.pause', { n }, { kind: 'state' });
      await publisher.flush();
    } finally {
      process.kill(b0.pid, 'SIGCONT');
    }
    // It learns it was excluded, stops that incarnation and joins again under a new one.
    await b0.waitForEvent((e) => e['event'] === 'cluster-stopped' && e['member'] === first && e['reason'] === 'excluded', 20_000, 'the old incarnation to stop');
    const rejoined = await b0.waitForEvent((e) => e['event'] === 'cluster-start' && e['member'] !== first, 20_000, 'a new incarnation');
    await b1.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(rejoined['member'] as string), 20_000, 'the new incarnation in the view');
    await b0.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(rejoined['member'] as string), 20_000, 'b0 to install it');
    const topic = (await (await fetch(`${b0.httpUrl}/api/v1/topics/mesh.pause`)).json()) as { seq: number; state: unknown };
    expect(topic).toMatchObject({ seq: 80, state: { n: 79 } });
    // The core's figures show what happened: the survivors suspected the stopped broker (one of them
    // may see the other's view without it before its own timeout runs out: counted over both), b1
    // froze for the flush and installed the views without it and with its new incarnation;
    // nothing is left unstable.
    const figure = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const metrics = await (await fetch(`${b1.httpUrl}/metrics`)).text();
    const metrics2 = await (await fetch(`${b2.httpUrl}/metrics`)).text();
    expect(figure(metrics, 'chorus_core_suspicions_total') + figure(metrics2, 'chorus_core_suspicions_total')).toBeGreaterThanOrEqual(1);
    expect(figure(metrics, 'chorus_core_views_installed_total')).toBeGreaterThanOrEqual(3);
    // (Their lengths are counted in 10 ms ticks: a flush that ends within its tick counts 0 s, so
    // their sum may be 0 — since acks travel at once, both often do.)
    expect(figure(metrics, 'chorus_core_flush_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(figure(metrics, 'chorus_core_retransmissions_total')).toBeGreaterThanOrEqual(0);
    expect(figure(metrics, 'chorus_core_unstable_messages')).toBeLessThan(50);
  });

  it('a 2|1 partition: the minority refuses publishes and sends its clients away, then rejoins with the state', async () => {
    const brokers = await startMesh(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const arrived = new Condition();
    const got: number[] = [];
    const onMinority = await client([b2.url, b0.url]);
    await onMinority.subscribe('mesh.split', (m) => (got.push(m.seq), arrived.notify()));
    const closes: number[] = [];
    onMinority.on('disconnected', ({ code }) => (closes.push(code), arrived.notify()));
    const publisher = await client(b0.url);
    for (let n = 0; n < 20; n++) void publisher.publish('mesh.split', n);
    await publisher.flush();
    const old = (await b2.waitForEvent((e) => e['event'] === 'cluster-start', 5000, 'start'))['member'] as string;
    const afterCut = since();
    mesh.net.isolate(2); // b2's links to b0 and b1 go silent (its clients still reach it)
    await b0.waitForEvent((e) => afterCut(e) && e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2, 20_000, 'the majority to go on without b2');
    // The minority: not ready, no publishes, its clients sent to the majority (close 4005), where they resume.
    await arrived.wait(() => closes.includes(4005), 20_000, 'the minority to send its client away');
    expect((await fetch(`${b2.httpUrl}/readyz`)).status).toBe(503);
    expect(await (await fetch(`${b2.httpUrl}/metrics`)).text()).toMatch(/chorus_cluster_primary 0/);
    const refused = await fetch(`${b2.httpUrl}/api/v1/topics/mesh.split`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: 'no' }) });
    expect(refused.status).toBe(503);
    for (let n = 20; n < 40; n++) void publisher.publish('mesh.split', n);
    await publisher.flush();
    await arrived.wait(() => got.length === 40, 20_000, 'the moved client to see every message');
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Heal: b2 learns it was excluded and joins again as a new incarnation, with the state.
    mesh.net.heal();
    const back = await b2.waitForEvent((e) => e['event'] === 'cluster-start' && e['member'] !== old, 20_000, 'a new incarnation of b2');
    await b0.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(back['member'] as string), 20_000, 'b2 back in the view');
    await b2.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(back['member'] as string), 20_000, 'b2 to install the view');
    expect((await fetch(`${b2.httpUrl}/readyz`)).status).toBe(200);
    expect(((await (await fetch(`${b2.httpUrl}/api/v1/topics/mesh.split`)).json()) as { seq: number }).seq).toBe(40);
  });

  it('a rolling restart of every broker under load loses no acknowledged publish', async () => {
    const brokers = await startMesh(3);
    const urls = brokers.map((b) => b.url);
    const arrived = new Condition();
    const got: number[] = [];
    const subscriber = await client([urls[1]!, urls[2]!, urls[0]!]);
    await subscriber.subscribe('mesh.rolling', (m) => (got.push(m.seq), arrived.notify()), { state: true });
    const publisher = await client([urls[0]!, urls[1]!, urls[2]!]);
    const acked: number[] = [];
    let publishing = true;
    const load = (async () => {
      for (let n = 0; publishing && n < 20_000; n++) {
        await publisher.publish('mesh.rolling', { n }).then(({ seq }) => void acked.push(seq), () => {});
      }
    })();
    for (let i = 0; i < 3; i++) {
      const before = acked.length;
      await arrived.wait(() => acked.length >= before + 20 || got.length >= before + 20, 20_000, `load before restarting b${i}`);
      const old = (await brokers[i]!.waitForEvent((e) => e['event'] === 'cluster-start', 1000, 'id'))['member'] as string;
      const afterStop = since();
      expect(await brokers[i]!.stop('SIGTERM')).toBe(0); // a graceful leave
      const other = brokers[(i + 1) % 3]!;
      await other.waitForEvent((e) => afterStop(e) && e['event'] === 'cluster-view' && !(e['members'] as string[]).includes(old), 20_000, `a view without b${i}`);
      brokers[i] = await mesh.restart(i);
      const fresh = (await brokers[i]!.waitForEvent((e) => e['event'] === 'cluster-start', 5000, 'new id'))['member'] as string;
      await other.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(fresh), 20_000, `b${i} back`);
    }
    publishing = false;
    await within(load, 20_000, 'the load to stop');
    const last = Math.max(...acked);
    await arrived.wait(() => got.at(-1) === last, 20_000, 'the subscriber to reach the last acknowledged seq');
    expect(new Set(acked).size).toBe(acked.length);
    expect(got).toEqual(Array.from({ length: last - got[0]! + 1 }, (_, k) => got[0]! + k));
    for (const seq of acked) expect(got).toContain(seq);
  });

  it('two brokers: the first seed killed -9 and restarted, the survivor starts over and joins it', async () => {
    // The survivor alone is half of its view without the oldest: never a primary again. Before, it
    // waited for ever outside any primary (the mesh never gives up on a timer) while the restarted
    // seed founded a group alone; now the seed's new incarnation asking to join tells it that the
    // old one is gone for good, and it starts over as a new incarnation that joins the new group.
    const brokers = await startMesh(2);
    const survivor = await mesh.memberOf(1);
    await mesh.kill(0);
    const fresh = await mesh.restart(0);
    const freshId = await mesh.memberOf(0);
    await brokers[1]!.waitForEvent((e) => e['event'] === 'cluster-stopped' && e['member'] === survivor && e['reason'] === 'excluded', 30_000, 'the survivor to start over');
    const view = await fresh.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2 && (e['members'] as string[]).includes(freshId), 30_000, 'one group of two');
    expect((view['members'] as string[]).map((m) => m.split('#')[0]).sort()).toEqual(['b0', 'b1']);
    const publisher = await client(brokers[1]!.url);
    await publisher.publish('mesh.after', { n: 1 });
  }, 90_000);

  it('a seed restarted while every other broker is stalled does not found a second group', async () => {
    const brokers = await startMesh(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const publisher = await client(b1.url);
    for (let n = 0; n < 10; n++) void publisher.publish('mesh.stalled', n);
    await publisher.flush();
    process.kill(b1.pid, 'SIGSTOP');
    process.kill(b2.pid, 'SIGSTOP');
    try {
      mesh.killed.push((await b0.waitForEvent((e) => e['event'] === 'cluster-start', 1000, 'b0 id'))['member'] as string);
      expect(await b0.stop('SIGKILL')).toBe(null);
      brokers[0] = await mesh.restart(0);
      // The others accept connections but do not answer: founding is put off, not done.
      const decision = await brokers[0].waitForEvent((e) => e['event'] === 'cluster-found' || e['event'] === 'cluster-found-deferred', 20_000, 'a founding decision');
      expect(decision['event']).toBe('cluster-found-deferred');
    } finally {
      process.kill(b1.pid, 'SIGCONT');
      process.kill(b2.pid, 'SIGCONT');
    }
    // Back: the new b0 joins the group that lived on, with its state.
    const fresh = (await brokers[0].waitForEvent((e) => e['event'] === 'cluster-start', 1000, 'new b0 id'))['member'] as string;
    const view = await brokers[0].waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(fresh) && (e['members'] as string[]).length === 3, 30_000, 'one group of three');
    expect((view['members'] as string[]).map((m) => m.split('#')[0]).sort()).toEqual(['b0', 'b1', 'b2']);
    expect(await brokers[0].waitForEvent((e) => e['event'] === 'cluster-found', 1, 'no founding').catch(() => undefined)).toBeUndefined();
    const topic = (await (await fetch(`${brokers[0].httpUrl}/api/v1/topics/mesh.stalled`)).json()) as { seq: number };
    expect(topic.seq).toBe(10);
  });
});
