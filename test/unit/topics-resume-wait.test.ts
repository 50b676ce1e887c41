// Proves in-process the mesh's resume rules of the topic layer: a resume whose `since` is ahead of
// this copy waits until the copy reaches it and is then answered from `since` exactly (no seq
// delivered twice), is refused with NotReady past its bound (never answered at an older seq), and a
// broker that cannot vouch for its copies refuses subscribes, resumes and reads alike.
import { describe, expect, it } from 'vitest';
import { FakeSubscriber } from '../helpers/fake-subscriber.js';
import { ErrorCode } from '../../client/protocol/index.js';
import { Topics, topicLimitsDefault, type Failure, type SubscribeOutcome } from '../../broker/topics/index.js';

function setup(unavailable?: () => Failure | undefined) {
  const clock = { now: 1000 };
  const topics = new Topics({
    defer: queueMicrotask,
    limits: topicLimitsDefault,
    payloadBytesMax: 1024,
    presenceInfoBytesMax: 256,
    topicBytesMax: 255,
    subscriptionsMax: 10,
    newEpoch: () => 'e1',
    resumeWaitMs: 5000,
    now: () => clock.now,
    ...(unavailable === undefined ? {} : { unavailable }),
  });
  const publish = (n: number) => {
    for (let i = 0; i < n; i++) topics.publish({ topic: 't', kind: 'event', data: i }, () => {});
  };
  const subscribe = (sub: FakeSubscriber, request: Parameters<Topics['subscribe']>[1]) => {
    const outcomes: SubscribeOutcome[] = [];
    topics.subscribe(sub, request, (o) => {
      outcomes.push(o);
      if (o.ok) for (const e of o.replay) sub.deliver(e.encoded);
    });
    return outcomes;
  };
  return { topics, clock, publish, subscribe };
}

const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('resumes ahead of the copy', () => {
  it('wait until the copy reaches since, then continue from since exactly', async () => {
    const { publish, subscribe, topics } = setup();
    publish(3);
    const sub = new FakeSubscriber('s');
    const outcomes = subscribe(sub, { topic: 't', since: 5, epoch: 'e1' });
    expect(outcomes).toEqual([]);
    expect(topics.isPinned('t')).toBe(true);
    publish(1);
    await settle();
    expect(outcomes).toEqual([]);
    publish(2); // seq 5 and 6 in one go: the answer comes after both, from since
    await settle();
    expect(outcomes).toMatchObject([{ ok: true, reply: { seq: 5, recovered: true } }]);
    publish(1);
    expect(sub.seqs()).toEqual([6, 7]);
  });

  it('are refused with NotReady past the bound, never answered at an older seq', async () => {
    const { publish, subscribe, topics, clock } = setup();
    publish(3);
    const outcomes = subscribe(new FakeSubscriber('s'), { topic: 't', since: 100, epoch: 'e1' });
    clock.now += 4999;
    topics.tick();
    await settle();
    expect(outcomes).toEqual([]);
    clock.now += 1;
    topics.tick();
    await settle();
    expect(outcomes).toMatchObject([{ ok: false, code: ErrorCode.NotReady }]);
    expect(topics.isPinned('t')).toBe(false);
  });

  it('of another epoch are answered at once, recovered: false', () => {
    const { publish, subscribe } = setup();
    publish(3);
    expect(subscribe(new FakeSubscriber('s'), { topic: 't', since: 9, epoch: 'old' })).toMatchObject([{ ok: true, reply: { seq: 3, recovered: false } }]);
  });

  it('a broker that cannot vouch for its copies refuses subscribes, resumes and reads', () => {
    let out: Failure | undefined = { ok: false, code: ErrorCode.NotReady, message: 'not in the primary view' };
    const { publish, subscribe, topics } = setup(() => out);
    publish(3);
    expect(subscribe(new FakeSubscriber('a'), { topic: 't', state: true })).toMatchObject([{ ok: false, code: ErrorCode.NotReady }]);
    expect(subscribe(new FakeSubscriber('b'), { topic: 't', since: 2, epoch: 'e1' })).toMatchObject([{ ok: false, code: ErrorCode.NotReady }]);
    let read: unknown;
    topics.read('t', (o) => (read = o));
    expect(read).toMatchObject({ ok: false, code: ErrorCode.NotReady });
    out = undefined;
    expect(subscribe(new FakeSubscriber('c'), { topic: 't', since: 2, epoch: 'e1' })).toMatchObject([{ ok: true, reply: { seq: 2, recovered: true } }]);
  });
});
