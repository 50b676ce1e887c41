// Proves the topic layer's contract in-process and deterministically: seqs without gaps, kinds and
// state, bounded history and resume, publish de-duplication, presence ordering, limits and eviction.
import { describe, expect, it } from 'vitest';
import { FakeSubscriber } from '../helpers/fake-subscriber.js';
import { ErrorCode, encode, encodeMessageV1 } from '../../client/protocol/index.js';
import { History, HistoryEntry, Topics, topicLimitsDefault, type ApplyResult, type SubscribeOutcome, type TopicLimits } from '../../broker/topics/index.js';

function makeTopics(limits: Partial<TopicLimits> = {}, extra: { payloadBytesMax?: number; subscriptionsMax?: number } = {}): Topics {
  let epoch = 0;
  let now = 1000;
  return new Topics({
    defer: queueMicrotask,
    limits: { ...topicLimitsDefault, ...limits },
    payloadBytesMax: extra.payloadBytesMax ?? 1024,
    presenceInfoBytesMax: 256,
    topicBytesMax: 255,
    subscriptionsMax: extra.subscriptionsMax ?? 10,
    newEpoch: () => `e${++epoch}`,
    now: () => ++now,
  });
}

function publish(topics: Topics, topic: string, data: unknown, kind: 'event' | 'state' | 'patch' = 'event', client?: string, pid?: number): ApplyResult {
  let result: ApplyResult | undefined;
  topics.publish({ topic, kind, data, client, pid }, (r) => (result = r));
  return result!;
}

function subscribe(topics: Topics, sub: FakeSubscriber, request: Parameters<Topics['subscribe']>[1]): SubscribeOutcome {
  let outcome: SubscribeOutcome | undefined;
  topics.subscribe(sub, request, (o) => {
    outcome = o;
    if (o.ok) for (const e of o.replay) sub.deliver(e.encoded);
  });
  return outcome!;
}

describe('topics', () => {
  it('gives each topic its own gap-free seq and keeps state by kind', () => {
    const topics = makeTopics();
    expect(publish(topics, 'a', 1)).toEqual({ ok: true, seq: 1 });
    expect(publish(topics, 'b', 1)).toEqual({ ok: true, seq: 1 });
    expect(publish(topics, 'a', { x: 1, y: 1 }, 'state')).toEqual({ ok: true, seq: 2 });
    expect(publish(topics, 'a', { y: null, z: 2 }, 'patch')).toEqual({ ok: true, seq: 3 });
    expect(publish(topics, 'a', 'event does not touch state')).toEqual({ ok: true, seq: 4 });
    expect(topics.table.get('a')!.state).toEqual({ x: 1, z: 2 });
  });

  it('subscribes with state at seq s, then delivers exactly s+1, s+2 …', () => {
    const topics = makeTopics();
    for (let i = 0; i < 5; i++) publish(topics, 'room', { n: i }, 'state');
    const sub = new FakeSubscriber('s1');
    const outcome = subscribe(topics, sub, { topic: 'room', state: true });
    expect(outcome).toMatchObject({ ok: true, reply: { topic: 'room', seq: 5, epoch: 'e1', state: { n: 4 } } });
    for (let i = 5; i < 8; i++) publish(topics, 'room', { n: i }, 'state');
    expect(sub.seqs('room')).toEqual([6, 7, 8]);
  });

  it('resumes from history, and says so when history no longer reaches back', () => {
    const topics = makeTopics({ historyLengthMax: 3 });
    for (let i = 1; i <= 6; i++) publish(topics, 'h', i);
    const inReach = new FakeSubscriber('r1');
    const resumed = subscribe(topics, inReach, { topic: 'h', since: 3, epoch: 'e1', state: true });
    expect(resumed).toMatchObject({ ok: true, reply: { seq: 3, recovered: true } });
    expect(resumed.ok && 'state' in resumed.reply).toBe(false);
    expect(inReach.seqs('h')).toEqual([4, 5, 6]);
    const tooOld = new FakeSubscriber('r2');
    const outcome = subscribe(topics, tooOld, { topic: 'h', since: 2 });
    expect(outcome).toMatchObject({ ok: true, reply: { seq: 6, recovered: false, state: null } });
    expect(tooOld.seqs('h')).toEqual([]);
    const otherEpoch = new FakeSubscriber('r3');
    expect(subscribe(topics, otherEpoch, { topic: 'h', since: 5, epoch: 'old' })).toMatchObject({ ok: true, reply: { recovered: false } });
    const upToDate = new FakeSubscriber('r4');
    expect(subscribe(topics, upToDate, { topic: 'h', since: 6 })).toMatchObject({ ok: true, reply: { recovered: true } });
    publish(topics, 'h', 7);
    expect(upToDate.seqs('h')).toEqual([7]);
    expect(inReach.seqs('h')).toEqual([4, 5, 6, 7]);
  });

  it('bounds history by bytes as well as by count', () => {
    const history = new History(100, 250);
    for (let seq = 1; seq <= 10; seq++) history.push(HistoryEntry.loaded(seq, new Uint8Array(100)));
    expect(history.length).toBe(2);
    expect(history.firstSeq).toBe(9);
    expect(history.after(8, 10)?.map((e) => e.seq)).toEqual([9, 10]);
    expect(history.after(7, 10)).toBeUndefined();
  });

  it('keeps an ordered message as its parts, copied out of what it came in, and writes its v1 form once, when asked', () => {
    const frame = new Uint8Array(4096);
    const payload = encode({ x: 1, name: 'p1' });
    frame.set(payload, 100);
    const parts = { topic: 'room.1', seq: 1, kind: 'event' as const, ts: 1_764_600_000_000, data: frame.subarray(100, 100 + payload.byteLength), client: 'c-1', epoch: 'e1' };
    const expected = encodeMessageV1({ ...parts, data: payload }).encoded;
    const entry = HistoryEntry.ordered(parts);
    frame.fill(0); // the frame is reused: the history's copy must not change
    expect(entry.parts!.data.buffer).not.toBe(frame.buffer);
    expect(Array.from(entry.parts!.data)).toEqual(Array.from(payload));
    expect(entry.bytes).toBe(expected.byteLength);
    const v1 = entry.encoded;
    expect(Array.from(v1)).toEqual(Array.from(expected));
    expect(entry.encoded).toBe(v1);
    // The payload is then kept once, inside the v1 form.
    expect(entry.parts!.data.buffer).toBe(v1.buffer);
    expect(Array.from(entry.parts!.data)).toEqual(Array.from(payload));
  });

  it('applies a retried publish id once and answers with the original seq', () => {
    const topics = makeTopics();
    expect(publish(topics, 't', 'x', 'event', 'c1', 1)).toEqual({ ok: true, seq: 1 });
    expect(publish(topics, 't', 'x', 'event', 'c1', 1)).toEqual({ ok: true, seq: 1, dup: true });
    expect(publish(topics, 't', 'y', 'event', 'c2', 1)).toEqual({ ok: true, seq: 2 });
    expect(publish(topics, 't', 'z', 'event', 'c1', 2)).toEqual({ ok: true, seq: 3 });
    expect(topics.table.get('t')!.seq).toBe(3);
  });

  it('orders presence among messages and hands the set with the snapshot', () => {
    const topics = makeTopics();
    const watcher = new FakeSubscriber('w');
    subscribe(topics, watcher, { topic: 'game', presence: { hidden: true } });
    publish(topics, 'game', 'm1');
    const player = new FakeSubscriber('p');
    const outcome = subscribe(topics, player, { topic: 'game', state: true, presence: { info: { name: 'ann' } } });
    expect(outcome).toMatchObject({ ok: true, reply: { seq: 1, presence: {} } });
    publish(topics, 'game', 'm2');
    topics.drop(player);
    expect(watcher.received.map((m) => (m.type === 'msg' ? `msg${m.seq}` : m.type))).toEqual(['msg1', 'join', 'msg2', 'leave']);
    expect(watcher.received[1]).toMatchObject({ type: 'join', seq: 1, session: 'p', client: 'client-p', info: { name: 'ann' } });
    const late = new FakeSubscriber('l');
    const lateOutcome = subscribe(topics, late, { topic: 'game', presence: {} });
    expect(lateOutcome.ok && lateOutcome.reply.presence).toEqual({});
    expect(watcher.received.at(-1)).toMatchObject({ type: 'join', session: 'l' });
    expect(topics.table.get('game')!.presence.has('p')).toBe(false);
  });

  it('delivers once per subscriber even when an exact and a pattern subscription both match', () => {
    const topics = makeTopics();
    const sub = new FakeSubscriber('s');
    subscribe(topics, sub, { topic: 'room.1' });
    subscribe(topics, sub, { topic: 'room.*' });
    subscribe(topics, sub, { topic: 'room.>' });
    publish(topics, 'room.1', 'x');
    publish(topics, 'room.2', 'y');
    publish(topics, 'lobby', 'z');
    expect(sub.received.map((m) => (m.type === 'msg' ? m.topic : m.type))).toEqual(['room.1', 'room.2']);
    topics.unsubscribe(sub, 'room.*');
    topics.unsubscribe(sub, 'room.>');
    publish(topics, 'room.2', 'y');
    expect(sub.received).toHaveLength(2);
  });

  it('refuses what breaks the rules with the documented codes', () => {
    const topics = makeTopics({ stateBytesMax: 64 }, { payloadBytesMax: 32, subscriptionsMax: 2 });
    const sub = new FakeSubscriber('s');
    expect(subscribe(topics, sub, { topic: 'a.*', state: true })).toMatchObject({ ok: false, code: ErrorCode.WildcardNotAllowed });
    expect(subscribe(topics, sub, { topic: '$other' })).toMatchObject({ ok: false, code: ErrorCode.ReservedTopic });
    expect(subscribe(topics, sub, { topic: 'a..b' })).toMatchObject({ ok: false, code: ErrorCode.InvalidTopic });
    expect(subscribe(topics, sub, { topic: 'a' })).toMatchObject({ ok: true });
    expect(subscribe(topics, sub, { topic: 'a' })).toMatchObject({ ok: false, code: ErrorCode.AlreadySubscribed });
    expect(subscribe(topics, sub, { topic: 'b' })).toMatchObject({ ok: true });
    expect(subscribe(topics, sub, { topic: 'c' })).toMatchObject({ ok: false, code: ErrorCode.TooManySubscriptions });
    expect(publish(topics, 'a', 'x'.repeat(40))).toMatchObject({ ok: false, code: ErrorCode.PayloadTooLarge });
    expect(publish(topics, 'a.*', 1)).toMatchObject({ ok: false, code: ErrorCode.InvalidTopic });
    for (let i = 0; i < 4; i++) expect(publish(topics, 'a', { [`k${i}`]: 'x'.repeat(20) }, 'patch').ok).toBe(i < 2);
    expect(publish(topics, 'a', { more: 'y'.repeat(20) }, 'patch')).toMatchObject({ ok: false, code: ErrorCode.StateTooLarge });
    // a refused publish consumed no seq
    expect(publish(topics, 'a', 1)).toEqual({ ok: true, seq: 3 });
  });

  it('keeps evicting when long-lived subscribed topics sit at the head of the table', () => {
    const topics = makeTopics({ topicsMax: 50 }, { subscriptionsMax: 100 });
    const sub = new FakeSubscriber('s', 'c');
    for (let i = 0; i < 20; i++) {
      subscribe(topics, sub, { topic: `lobby.${i}` });
      publish(topics, `lobby.${i}`, 1);
    }
    for (let i = 0; i < 5000; i++) publish(topics, `burst.${i}`, 1);
    expect(topics.table.size).toBe(50);
    for (let i = 0; i < 20; i++) expect(topics.table.get(`lobby.${i}`)?.seq).toBe(1);
    // unsubscribed topics become candidates again
    for (let i = 0; i < 20; i++) topics.unsubscribe(sub, `lobby.${i}`);
    for (let i = 0; i < 100; i++) publish(topics, `later.${i}`, 1);
    expect(topics.table.get('lobby.0')).toBeUndefined();
  });

  it('refuses a publish id too old to check rather than applying it twice', () => {
    const topics = makeTopics();
    for (let pid = 1; pid <= 4097; pid++) publish(topics, 'many', pid, 'event', 'c1', pid);
    expect(publish(topics, 'many', 4097, 'event', 'c1', 4097)).toEqual({ ok: true, seq: 4097, dup: true });
    expect(publish(topics, 'many', 2, 'event', 'c1', 2)).toEqual({ ok: true, seq: 2, dup: true });
    expect(publish(topics, 'many', 1, 'event', 'c1', 1)).toMatchObject({ ok: false, code: ErrorCode.StalePublishId });
    expect(topics.table.get('many')!.seq).toBe(4097);
  });

  it('refuses data that is not plain or too deep, over every edge', () => {
    const topics = makeTopics();
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(publish(topics, 'x', deep)).toMatchObject({ ok: false, code: ErrorCode.BadRequest });
    expect(publish(topics, 'x', { at: new Date() })).toMatchObject({ ok: false, code: ErrorCode.BadRequest });
    expect(publish(topics, 'x', 10n)).toMatchObject({ ok: false, code: ErrorCode.BadRequest });
    const sub = new FakeSubscriber('s');
    expect(subscribe(topics, sub, { topic: 'x', presence: { info: 'i'.repeat(300) } })).toMatchObject({ ok: false, code: ErrorCode.PayloadTooLarge });
    expect(topics.table.get('x')?.seq ?? 0).toBe(0);
  });

  it('drops idle topics past topicsMax but never one with subscribers', () => {
    const topics = makeTopics({ topicsMax: 3 });
    const sub = new FakeSubscriber('s');
    subscribe(topics, sub, { topic: 'keep' });
    publish(topics, 'keep', 1);
    for (let i = 0; i < 10; i++) publish(topics, `idle.${i}`, 1);
    expect(topics.table.size).toBe(3);
    expect(topics.table.get('keep')?.seq).toBe(1);
    expect(topics.table.evictedTotal).toBe(8);
  });
});

describe('topics replicated by the mesh', () => {
  it('never drops a topic (replicas must agree), and a subscribe creates none', () => {
    let epoch = 0;
    const topics = new Topics({
      defer: queueMicrotask,
      now: () => 0,
      limits: { ...topicLimitsDefault, topicsMax: 3 },
      payloadBytesMax: 1024,
      presenceInfoBytesMax: 256,
      topicBytesMax: 255,
      subscriptionsMax: 10,
      newEpoch: () => `e${++epoch}`,
      createOnSubscribe: false,
    });
    const sub = new FakeSubscriber('s');
    expect(subscribe(topics, sub, { topic: 'fresh', state: true })).toMatchObject({ ok: true, reply: { seq: 0, epoch: '', state: null } });
    expect(topics.table.get('fresh')).toBeUndefined();
    for (let i = 0; i < 10; i++) publish(topics, `t.${i}`, 1);
    expect(topics.table.size).toBe(10);
    expect(topics.table.evictedTotal).toBe(0);
  });
});
