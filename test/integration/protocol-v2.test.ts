// Protocol 2 on the wire, against a real broker process, spoken by hand: compact deliveries that
// carry a subscription id (the topic name only for a wildcard match), publish acknowledgements
// gathered per turn, publishes without an id answered only when they fail — and protocol 1 still
// served beside it, unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { connect, type Subscription } from '../../client/index.js';
import { ErrorCode, type AcksMessage, type CompactMessage, type ServerMessage, type SubscribeReply } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Raw } from '../helpers/raw-socket.js';
import { Condition } from '../helpers/wait.js';

const deliveries = (raw: Raw): CompactMessage[] => (raw.received as unknown[]).filter((m): m is CompactMessage => Array.isArray(m));
const ofType = <T extends ServerMessage['type']>(raw: Raw, type: T): Array<Extract<ServerMessage, { type: T }>> =>
  (raw.received as unknown[]).filter((m) => !Array.isArray(m) && (m as ServerMessage).type === type) as Array<Extract<ServerMessage, { type: T }>>;

describe('protocol 2', () => {
  let broker: BrokerProcess;
  const raws: Raw[] = [];
  const open = async (v: number): Promise<Raw> => {
    const raw = new Raw(broker.url);
    raws.push(raw);
    await raw.hello(undefined, v);
    return raw;
  };

  beforeAll(async () => {
    broker = await startBrokerProcess(['--rate-bytes', '0']);
  });

  afterAll(async () => {
    for (const raw of raws) raw.ws.terminate();
    await broker?.stop();
  });

  it('delivers positionally, with the subscription id, the same for every subscriber of a topic', async () => {
    const a = await open(2);
    const b = await open(2);
    expect(ofType(a, 'welcome')[0]!.v).toBe(2);
    a.send([{ type: 'sub', id: 1, topic: 'v2.room' }]);
    b.send([{ type: 'sub', id: 1, topic: 'v2.room' }]);
    const sidA = ((await a.answer(1)) as SubscribeReply).sid;
    const sidB = ((await b.answer(1)) as SubscribeReply).sid;
    expect(typeof sidA).toBe('number');
    expect(sidB).toBe(sidA);
    const pub = await open(2);
    pub.send([
      { type: 'pub', id: 1, topic: 'v2.room', data: { n: 1 } },
      { type: 'pub', id: 2, topic: 'v2.room', kind: 'state', data: { n: 2 } },
    ]);
    await a.changed.wait(() => deliveries(a).length === 2, 5000, 'two deliveries');
    const [first, second] = deliveries(a);
    // [ref, seq, kind, ts, data, client?, epoch?]: the first message of a topic names its epoch.
    expect(first!.slice(0, 3)).toEqual([sidA, 1, 0]);
    expect(first![4]).toEqual({ n: 1 });
    expect(typeof first![5]).toBe('string');
    expect(typeof first![6]).toBe('string');
    expect(second!.slice(0, 3)).toEqual([sidA, 2, 1]);
    expect(second).toHaveLength(6);
    expect(Math.abs(second![3] - Date.now())).toBeLessThan(60_000);
  });

  it('answers a burst of publishes with one acks message, in order, and a failure on its own', async () => {
    const pub = await open(2);
    const burst = Array.from({ length: 200 }, (_, i) => ({ type: 'pub', id: i + 1, topic: i === 100 ? '$bad' : 'v2.burst', data: i }));
    pub.send(burst);
    await pub.changed.wait(() => ofType(pub, 'acks').reduce((n, m) => n + m.seqs.length, 0) === 199, 5000, '199 acknowledged');
    const acks = ofType(pub, 'acks') as AcksMessage[];
    const errors = ofType(pub, 'error');
    expect(errors.map((e) => [e.id, e.code])).toEqual([[101, ErrorCode.ReservedTopic]]);
    expect(ofType(pub, 'reply')).toEqual([]);
    // A handful of acks for 199 publishes (one per turn the broker answered in), seqs in order.
    expect(acks.length).toBeLessThanOrEqual(10);
    expect(acks.flatMap((m) => m.seqs)).toEqual(Array.from({ length: 199 }, (_, i) => i + 1));
    // The error came after the acks of the 100 publishes before it.
    const order = (pub.received as unknown[]).filter((m) => !Array.isArray(m) && ['acks', 'error'].includes((m as ServerMessage).type));
    let before = 0;
    for (const m of order) {
      if ((m as ServerMessage).type === 'error') break;
      before += (m as AcksMessage).seqs.length;
    }
    expect(before).toBe(100);
  });

  it('takes publishes without an id: no answer when they succeed, an error naming the topic when they fail', async () => {
    const sub = await open(2);
    sub.send([{ type: 'sub', id: 1, topic: 'v2.quiet' }]);
    await sub.answer(1);
    const pub = await open(2);
    pub.send([
      { type: 'pub', topic: 'v2.quiet', data: 'a' },
      { type: 'pub', topic: 'v2.quiet', data: 'b' },
      { type: 'pub', topic: 'not a topic', data: 'c' },
    ]);
    await sub.changed.wait(() => deliveries(sub).length === 2, 5000, 'both delivered');
    await pub.changed.wait(() => ofType(pub, 'error').length === 1, 5000, 'the failure reported');
    expect(ofType(pub, 'error')[0]).toMatchObject({ code: ErrorCode.InvalidTopic, topic: 'not a topic' });
    expect(ofType(pub, 'error')[0]!.id).toBeUndefined();
    expect(ofType(pub, 'acks')).toEqual([]);
    expect(deliveries(sub).map((d) => d[4])).toEqual(['a', 'b']);
  });

  it('names the topic in a delivery that reached the connection through a wildcard only', async () => {
    const sub = await open(2);
    sub.send([{ type: 'sub', id: 1, topic: 'v2.w.*' }, { type: 'sub', id: 2, topic: 'v2.w.held' }]);
    const patternReply = (await sub.answer(1)) as SubscribeReply;
    const exactReply = (await sub.answer(2)) as SubscribeReply;
    expect(patternReply.sid).toBeUndefined();
    const pub = await open(2);
    pub.send([
      { type: 'pub', id: 1, topic: 'v2.w.other', data: 1 },
      { type: 'pub', id: 2, topic: 'v2.w.held', data: 2 },
    ]);
    await sub.changed.wait(() => deliveries(sub).length === 2, 5000, 'both delivered');
    // Held exactly and matched by the pattern: once, by its id (the client routes it to both).
    expect(deliveries(sub).map((d) => [d[0], d[4]])).toEqual([
      ['v2.w.other', 1],
      [exactReply.sid, 2],
    ]);
  });

  it('still speaks protocol 1 beside it, a map per message and a reply per publish', async () => {
    const sub = await open(1);
    sub.send([{ type: 'sub', id: 1, topic: 'v2.mixed' }]);
    expect((await sub.answer(1)) as SubscribeReply).not.toHaveProperty('sid');
    const pub = await open(1);
    pub.send([{ type: 'pub', id: 7, topic: 'v2.mixed', data: { n: 2 ** 40 } }, { type: 'pub', topic: 'v2.mixed', data: 1 }]);
    expect(await pub.answer(7)).toMatchObject({ type: 'reply', id: 7, seq: 1 });
    await pub.changed.wait(() => ofType(pub, 'error').length === 1, 5000, 'the publish without an id refused');
    expect(ofType(pub, 'error')[0]!.code).toBe(ErrorCode.BadRequest);
    await sub.changed.wait(() => ofType(sub, 'msg').length === 1, 5000, 'the message');
    expect(ofType(sub, 'msg')[0]).toMatchObject({ topic: 'v2.mixed', seq: 1, kind: 'event', data: { n: 2 ** 40 } });
  });

  it('serves the official client over protocol 2 end to end: publish seqs, state, resume', async () => {
    const client = await connect(broker.url);
    const got: number[] = [];
    const arrived = new Condition();
    const sub = await client.subscribe('v2.official', (m) => (got.push(m.seq), arrived.notify()), { state: true });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.publish('v2.official', { i }, { kind: i % 2 === 0 ? 'state' : 'patch' })));
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await expect(client.publish('$nope', 1)).rejects.toMatchObject({ code: ErrorCode.ReservedTopic });
    expect((await client.publish('v2.official', { i: 50 })).seq).toBe(51);
    await arrived.wait(() => got.length >= 51, 5000, 'every message');
    expect(got).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(sub.state).toEqual({ i: 49 });
    await client.close();
  });

  it('lets the official client publish without acknowledgement: delivered in order, nothing waited for', async () => {
    const client = await connect(broker.url);
    const reader = await connect(broker.url);
    const got: unknown[] = [];
    const arrived = new Condition();
    await reader.subscribe('v2.fire', (m) => (got.push(m.data), arrived.notify()));
    const settled = await Promise.all(Array.from({ length: 200 }, (_, i) => client.publish('v2.fire', i, { ack: false })));
    expect(settled.every((r) => r === undefined)).toBe(true);
    await arrived.wait(() => got.length >= 200, 5000, 'every message');
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // A bad value is still refused on the spot, to the caller.
    await expect(client.publish('$sys.x', 1, { ack: false })).rejects.toMatchObject({ code: ErrorCode.ReservedTopic });
    await client.close();
    await reader.close();
  });

  it('routes messages sent under a subscription id to a matching pattern after that subscription is let go', async () => {
    const client = await connect(broker.url);
    const publisher = await connect(broker.url);
    const byPattern: number[] = [];
    const arrived = new Condition();
    await client.subscribe('v2.pat.*', (m) => (byPattern.push(m.seq), arrived.notify()));
    // The exact subscription is let go on its first message: the rest of that frame, and what the
    // broker sends before it takes the unsubscribe, come under its id and must reach the pattern.
    let exact: Subscription | undefined;
    exact = await client.subscribe('v2.pat.a', (m) => {
      if (m.seq === 1) void exact!.unsubscribe();
    });
    await Promise.all(Array.from({ length: 300 }, (_, i) => publisher.publish('v2.pat.a', i)));
    await arrived.wait(() => byPattern.length >= 300, 5000, 'every message at the pattern');
    expect(byPattern).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    await client.close();
    await publisher.close();
  });
});

describe('protocol 2 with refusals at the edge', () => {
  const secret = 'protocol-2-test-secret-of-32-chars-or-more';
  let broker: BrokerProcess;
  beforeAll(async () => {
    broker = await startBrokerProcess(['--auth', 'jwt', '--jwt-secret', secret]);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('keeps every acknowledgement with its own publish when a refusal overtakes the acks of earlier ones', async () => {
    const token = await new SignJWT({ sub: 'p2', chorus: { publish: ['v2.ok.*'], subscribe: ['v2.ok.*'] } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(secret));
    const client = await connect(broker.url, { token, reconnect: { enabled: false } });
    // Allowed, forbidden, allowed … in one frame: each forbidden one is refused at once, before the
    // acks of the allowed ones sent ahead of it go out at the end of the turn.
    const topics = Array.from({ length: 30 }, (_, i) => (i % 3 === 1 ? 'v2.no.a' : 'v2.ok.a'));
    const outcomes = await Promise.allSettled(topics.map((t, i) => client.publish(t, i)));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code);
    expect(refused).toEqual(Array.from({ length: 10 }, () => ErrorCode.Forbidden));
    const seqs = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.seq] : []));
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // And the connection is still in step afterwards.
    expect((await client.publish('v2.ok.a', 'after')).seq).toBe(21);
    // A publish without acknowledgement that the broker refuses is reported as an error event naming the topic.
    const reported = new Promise<Error & { code?: number }>((resolve) => client.on('error', resolve));
    await client.publish('v2.no.a', 'quiet', { ack: false });
    expect(await reported).toMatchObject({ code: ErrorCode.Forbidden });
    await client.close();
  });
});
