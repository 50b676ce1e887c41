// Proves, with three real broker processes on loopback and real clients, the subscribe and resume
// rules across failover that an outside chaos run once broke: a broker outside the primary view
// answers no subscribe, resume or read from its frozen copy (NotReady); a client that stays with
// such a broker through its exclusion and rejoin keeps its subscription (retried, never dropped)
// and sees every seq once, with no jump; a resume whose `since` is ahead of a healthy broker's copy
// waits for the copy instead of going back (or is refused, bounded); a resume refused for good
// ends the subscription with an `ended` event. The property checker reads every core log after.
import { afterEach, describe, expect, it } from 'vitest';
import type { EndedEvent, Message } from '../../client/index.js';
import { ErrorCode } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness, since } from '../helpers/mesh.js';
import { Raw } from '../helpers/raw-socket.js';
import { Condition, nextEvent, within } from '../helpers/wait.js';

const mesh = new MeshHarness();
const raws: Raw[] = [];
const singles: BrokerProcess[] = [];
afterEach(async (context) => {
  for (const r of raws.splice(0)) r.ws.terminate();
  await Promise.all(singles.splice(0).map((b) => b.stop('SIGKILL')));
  await mesh.finish(context.task.name);
});

async function raw(url: string): Promise<Raw> {
  const r = new Raw(url);
  raws.push(r);
  await r.hello();
  return r;
}

/** Cuts b2 off from b0 and b1 (in the test's own proxies, test/helpers/link-proxy.ts), and waits until the majority goes on without it and b2 sent its clients away (4005). */
async function isolateB2(brokers: BrokerProcess[], witness: { on(event: 'disconnected', l: (e: { code: number }) => void): () => void }): Promise<string> {
  const [b0, , b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
  const old = (await b2.waitForEvent((e) => e['event'] === 'cluster-start', 5000, 'b2 id'))['member'] as string;
  const closed = new Promise<void>((resolve) => {
    const off = witness.on('disconnected', ({ code }) => {
      if (code !== 4005) return;
      off();
      resolve();
    });
  });
  const afterCut = since();
  mesh.net.isolate(2);
  await b0.waitForEvent((e) => afterCut(e) && e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2, 20_000, 'the majority to go on without b2');
  await within(closed, 20_000, 'b2 to send its clients away (4005)');
  return old;
}

/** Heals the cut and waits until b2's new incarnation is in the view at b0 and at b2. */
async function healB2(brokers: BrokerProcess[], old: string): Promise<void> {
  const [, , b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
  mesh.net.heal();
  const back = (await b2.waitForEvent((e) => e['event'] === 'cluster-start' && e['member'] !== old, 30_000, 'a new incarnation of b2'))['member'] as string;
  await b2.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).includes(back) && (e['members'] as string[]).length === 3, 30_000, 'b2 back in the view');
}

describe('failover: subscribe and resume', () => {
  it('a broker outside the primary view answers no subscribe, resume or read from its frozen copy', async () => {
    const brokers = await mesh.start(3);
    const [b0, , b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const topic = 'defect.stale';
    const publisher = await mesh.client(b0.url);
    for (let n = 1; n <= 10; n++) void publisher.publish(topic, { n }, { kind: 'state' });
    await publisher.flush();
    // A subscriber at b2 (b2 keeps the topic at seq 10 from then on), and its epoch.
    const watcher = await mesh.client(b2.url);
    const watched = await watcher.subscribe(topic, () => {}, { state: true });
    expect(watched.snapshot!.seq).toBe(10);
    const epoch = watched.epoch;
    const old = await isolateB2(brokers, watcher);
    for (let n = 11; n <= 20; n++) void publisher.publish(topic, { n }, { kind: 'state' });
    await publisher.flush();
    // b2 still takes connections, but answers nothing from its copy (frozen at seq 10).
    const r = await raw(b2.url);
    r.send([
      { type: 'sub', id: 1, topic, state: true },
      { type: 'sub', id: 3, topic: 'defect.other', state: true },
    ]);
    expect(await r.answer(1)).toMatchObject({ type: 'error', code: ErrorCode.NotReady });
    const r2 = await raw(b2.url);
    r2.send([{ type: 'sub', id: 1, topic, since: 15, epoch }]);
    expect(await r2.answer(1)).toMatchObject({ type: 'error', code: ErrorCode.NotReady });
    expect(await r.answer(3)).toMatchObject({ type: 'error', code: ErrorCode.NotReady });
    expect((await fetch(`${b2.httpUrl}/api/v1/topics/${topic}`)).status).toBe(503);
    // Back in the view (a new incarnation), it serves the current copy again.
    await healB2(brokers, old);
    const late = await mesh.client(b2.url);
    const sub = await late.subscribe(topic, () => {}, { state: true });
    expect(sub.snapshot).toMatchObject({ seq: 20, state: { n: 20 } });
    const resumer = await mesh.client(b2.url);
    const resumed = await resumer.subscribe(topic, () => {}, { since: 15, epoch });
    expect(resumed.snapshot!.seq).toBe(15);
    expect(resumed.seq).toBe(20);
  });

  it('a client that stays with a broker through its exclusion and rejoin keeps its subscription and sees every seq once', async () => {
    const brokers = await mesh.start(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const topic = 'defect.rejoin';
    const publisher = await mesh.client([b0.url, b1.url]);
    for (let n = 1; n <= 10; n++) void publisher.publish(topic, n);
    await publisher.flush();
    // Only b2's URL: after b2's 4005 the client comes back to b2, cut off or not.
    const stayer = await mesh.client(b2.url);
    const arrived = new Condition();
    const got: number[] = [];
    const errors: Error[] = [];
    const ended: EndedEvent[] = [];
    stayer.on('error', (e) => (errors.push(e), arrived.notify()));
    const sub = await stayer.subscribe(topic, (m: Message) => (got.push(m.seq), arrived.notify()));
    sub.on('ended', (e) => (ended.push(e), arrived.notify()));
    await arrived.wait(() => sub.seq === 10, 20_000, 'the subscriber at seq 10');
    const old = await isolateB2(brokers, stayer);
    // Starting again as a new incarnation replaces b2's copies: a session at the old one is closed
    // (4005) and resumes at the new one. Whether the client had reconnected to the old incarnation
    // (cut off, in a minority) before b2 started again is a race — it may come back straight to the
    // new one (its welcome names the broker process, the same for both) — so this asserts what
    // holds either way: every close since the cut is a 4005, and the subscription goes on below.
    const closesSinceCut: number[] = [];
    stayer.on('disconnected', ({ code }) => (closesSinceCut.push(code), arrived.notify()));
    for (let n = 11; n <= 30; n++) void publisher.publish(topic, n);
    await publisher.flush();
    await healB2(brokers, old);
    for (let n = 31; n <= 40; n++) void publisher.publish(topic, n);
    await publisher.flush();
    await arrived.wait(() => sub.seq >= 40 || ended.length > 0 || errors.length > 0, 30_000, 'the subscriber to reach seq 40');
    expect(ended.map((e) => e.error.message)).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(closesSinceCut.filter((code) => code !== 4005)).toEqual([]);
    expect(sub.active).toBe(true);
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i + 11));
  });

  it("a resume ahead of a healthy broker's copy waits for the copy, and is refused (never answered older) past the bound", async () => {
    const brokers = await mesh.start(3);
    const [b0, b1] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const topic = 'defect.ahead';
    const publisher = await mesh.client(b0.url);
    for (let n = 1; n <= 10; n++) void publisher.publish(topic, n);
    await publisher.flush();
    const first = await mesh.client(b1.url);
    const epoch = (await first.subscribe(topic, () => {})).epoch;
    // A subscriber that saw up to seq 15 elsewhere resumes at b1, whose copy is at 10.
    const resumer = await mesh.client(b1.url);
    const got: number[] = [];
    const arrived = new Condition();
    let answered = false;
    const resumed = resumer.subscribe(topic, (m) => (got.push(m.seq), arrived.notify()), { since: 15, epoch }).then((s) => ((answered = true), s));
    // The same, on the wire: a `since` the copy never reaches within the bound is refused, retryably.
    const r = await raw(b1.url);
    const askedAt = Date.now();
    r.send([{ type: 'sub', id: 1, topic, since: 1000, epoch }]);
    for (let n = 11; n <= 18; n++) void publisher.publish(topic, n);
    await publisher.flush();
    const sub = await within(resumed, 20_000, 'the resume');
    expect(answered).toBe(true);
    expect(sub.snapshot!.seq).toBe(15);
    await arrived.wait(() => sub.seq === 18, 20_000, 'seq 18');
    expect(got).toEqual([16, 17, 18]);
    const refused = await within(r.changed.wait(() => r.received.some((m) => m.type === 'error' || m.type === 'reply'), 20_000, 'the far resume').then(() => r.received.find((m) => m.type === 'error' || m.type === 'reply')!), 21_000, 'answer');
    expect(refused).toMatchObject({ type: 'error', id: 1, code: ErrorCode.NotReady });
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(4000);
  });

  it('a resume refused for good ends that subscription with an ended event; the others go on', async () => {
    // Two single brokers: the second allows one subscription per connection, so the second of two
    // resumed there is refused for good (302 TooManySubscriptions), which no retry would cure.
    const roomy = await startBrokerProcess(['--subscriptions-max', '2']);
    const tight = await startBrokerProcess(['--subscriptions-max', '1']);
    singles.push(roomy, tight);
    const c = await mesh.client([roomy.url, tight.url]);
    const arrived = new Condition();
    const got: number[] = [];
    const kept = await c.subscribe('defect.kept', (m) => (got.push(m.seq), arrived.notify()));
    const lost = await c.subscribe('defect.lost', () => {});
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const ended = nextEvent<EndedEvent>(lost as unknown as { on(event: string, listener: (e: EndedEvent) => void): () => void }, 'ended', 20_000);
    const moved = nextEvent(c, 'reconnected', 20_000);
    await roomy.stop('SIGTERM'); // 4000: the client resumes both at the other broker
    await moved;
    const event = await ended;
    expect((event.error as { code?: number }).code).toBe(ErrorCode.TooManySubscriptions);
    expect(lost.active).toBe(false);
    expect(errors.map((e) => (e as { code?: number }).code)).toEqual([ErrorCode.TooManySubscriptions]);
    const publisher = await mesh.client(tight.url);
    await publisher.publish('defect.kept', 'still here');
    await arrived.wait(() => got.length === 1, 20_000, 'the kept subscription to go on');
    expect(kept.active).toBe(true);
  });
});

describe('failover: network faults that leave a connected majority', () => {
  it('one cut link between two brokers that are not the coordinator stops publishing only until one of them is left out', async () => {
    const brokers = await mesh.start(3);
    const [b0, b1, b2] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const topic = 'defect.cut';
    const publisher = await mesh.client([b0.url]);
    const subscriber = await mesh.client([b0.url]);
    const arrived = new Condition();
    const got: number[] = [];
    await subscriber.subscribe(topic, (m: Message) => (got.push(m.seq), arrived.notify()));
    const acked: Array<{ seq: number; at: number }> = [];
    let publishing = true;
    const load = (async () => {
      for (let n = 0; publishing && n < 50_000; n++) {
        const { seq } = await publisher.publish(topic, n);
        acked.push({ seq, at: performance.now() });
        arrived.notify();
      }
    })();
    await arrived.wait(() => acked.length >= 20, 20_000, 'publishing before the cut');
    // b0 (the coordinator) hears both; b1 and b2 no longer hear each other.
    const cutAt = performance.now();
    const afterCut = since();
    mesh.net.cut(1, 2);
    const view = await b0.waitForEvent((e) => afterCut(e) && e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2, 20_000, 'a view that leaves b1 or b2 out');
    const viewAt = performance.now();
    // Publishing goes on while the link stays cut.
    const before = acked.length;
    await arrived.wait(() => acked.length >= before + 50, 20_000, 'publishes acknowledged while the link is cut');
    const stall = Math.max(...acked.filter((a) => a.at > cutAt).map((a, i, all) => a.at - (i === 0 ? cutAt : all[i - 1]!.at)));
    console.log(`one cut link: view ${JSON.stringify(view['members'])} after ${Math.round(viewAt - cutAt)} ms; longest pause between acknowledgements ${Math.round(stall)} ms`);
    mesh.net.heal();
    publishing = false;
    await load;
    await arrived.wait(() => got.length >= acked.length, 20_000, 'the subscriber to see every acknowledged publish');
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    // The broker left out comes back as a new incarnation (perhaps already while the link was cut),
    // and all three publish and deliver together again.
    const first = new Set(view['members'] as string[]);
    await Promise.all(brokers.map((b) => b.waitForEvent((e) => afterCut(e) && e['event'] === 'cluster-view' && (e['members'] as string[]).length === 3 && (e['members'] as string[]).some((m) => !first.has(m)), 30_000, 'all three in one view again')));
    const at = got.length;
    const again = await mesh.client([b1.url, b2.url]);
    for (let n = 0; n < 20; n++) void again.publish(topic, n);
    await again.flush();
    await arrived.wait(() => got.length >= at + 20, 20_000, 'publishes through b1 and b2 after the heal');
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  }, 90_000);
});
