// Proves the client-side exactly-once rules deterministically, without sockets: messages are held off
// while a (re)subscribe is pending, duplicates (seq ≤ last) are dropped, state follows state/patch
// messages, a resume reports recovered or not, and presence changes update the set.
import { describe, expect, it } from 'vitest';
import { ErrorCode, type TopicMessage } from '../../client/protocol/index.js';
import { afterRefusal } from '../../client/subscriptions.js';
import { Subscription, type Message, type ResyncEvent } from '../../client/subscription.js';

function msg(seq: number, kind: TopicMessage['kind'] = 'event', data: unknown = seq): TopicMessage {
  return { type: 'msg', topic: 't', seq, kind, data, ts: 0 };
}

function make(options: ConstructorParameters<typeof Subscription>[3] = {}): { sub: Subscription; got: Message[]; resyncs: ResyncEvent[] } {
  const got: Message[] = [];
  const resyncs: ResyncEvent[] = [];
  const sub = new Subscription('t', false, (m) => got.push(m), { ...options, onResync: (e) => resyncs.push(e) }, async () => {});
  return { sub, got, resyncs };
}

describe('Subscription', () => {
  it('holds messages off until confirmed, then takes only seq > snapshot', () => {
    const { sub, got } = make({ state: true });
    expect(sub.receive(msg(1))).toBe(false); // before the reply: the reply's snapshot covers it
    sub.confirm({ type: 'reply', id: 1, topic: 't', seq: 3, epoch: 'e', state: { a: 1 } });
    expect(sub.receive(msg(3))).toBe(false);
    expect(sub.receive(msg(4, 'patch', { b: 2 }))).toBe(true);
    expect(sub.receive(msg(4, 'patch', { b: 3 }))).toBe(false);
    expect(sub.receive(msg(5, 'state', { c: 3 }))).toBe(true);
    expect(sub.receive(msg(6, 'patch', { d: 4 }))).toBe(true);
    expect(got.map((m) => m.seq)).toEqual([4, 5, 6]);
    expect(sub.state).toEqual({ c: 3, d: 4 });
    expect(sub.snapshot).toEqual({ seq: 3, epoch: 'e', state: { a: 1 } });
    expect(got[0]).toEqual({ topic: 't', seq: 4, kind: 'patch', data: { b: 2 }, ts: 0 });
  });

  it('resumes after a reconnect: replayed seqs fill in, repeats are dropped', () => {
    const { sub, got, resyncs } = make();
    sub.confirm({ type: 'reply', id: 1, topic: 't', seq: 0, epoch: 'e' });
    for (const s of [1, 2, 3]) sub.receive(msg(s));
    sub.pending = true; // the link dropped
    expect(sub.receive(msg(4))).toBe(false); // arrived through a pattern before the resume reply
    sub.confirm({ type: 'reply', id: 2, topic: 't', seq: 3, epoch: 'e', recovered: true });
    for (const s of [4, 5, 4]) sub.receive(msg(s));
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(resyncs).toEqual([{ recovered: true, seq: 3 }]);
  });

  it('takes a fresh snapshot when a resume could not recover', () => {
    const { sub, resyncs } = make({ state: true });
    sub.confirm({ type: 'reply', id: 1, topic: 't', seq: 2, epoch: 'e', state: { v: 2 } });
    sub.pending = true;
    sub.confirm({ type: 'reply', id: 2, topic: 't', seq: 90, epoch: 'e2', state: { v: 90 }, recovered: false });
    expect(sub.state).toEqual({ v: 90 });
    expect(sub.epoch).toBe('e2');
    expect(resyncs).toEqual([{ recovered: false, seq: 90 }]);
    expect(sub.receive(msg(91))).toBe(true);
  });

  it('keeps the presence set current', () => {
    const { sub } = make({ presence: {} });
    sub.confirm({ type: 'reply', id: 1, topic: 't', seq: 0, epoch: 'e', presence: { s1: { client: 'a' } } });
    sub.receivePresence({ type: 'join', topic: 't', seq: 0, session: 's2', client: 'b', info: { n: 1 } });
    sub.receivePresence({ type: 'leave', topic: 't', seq: 0, session: 's1', client: 'a' });
    expect(sub.presence).toEqual({ s2: { client: 'b', info: { n: 1 } } });
  });

  it('delivers nothing once unsubscribed', () => {
    const { sub, got } = make();
    sub.confirm({ type: 'reply', id: 1, topic: 't', seq: 0, epoch: 'e' });
    sub.active = false;
    expect(sub.receive(msg(1))).toBe(false);
    expect(got).toEqual([]);
  });
});

describe('Subscription epoch', () => {
  it('learns the epoch from a topic’s first message when it subscribed before the topic existed', () => {
    const got: Message[] = [];
    const sub = new Subscription('t', false, (m) => got.push(m), {}, async () => {});
    sub.confirm({ type: 'reply', id: 1, topic: 't', seq: 0, epoch: '' });
    sub.receive({ type: 'msg', topic: 't', seq: 1, kind: 'event', data: 1, ts: 0, epoch: 'E1' });
    expect(sub.epoch).toBe('E1');
    expect(got[0]?.epoch).toBe('E1');
  });
});

describe('afterRefusal', () => {
  it('never ends a subscription on a retryable refusal, and moves only on NotReady with another broker', () => {
    const cases: Array<[number, boolean, boolean, 'move' | 'retry' | 'end']> = [
      [ErrorCode.NotReady, true, false, 'move'],
      [ErrorCode.NotReady, true, true, 'move'],
      [ErrorCode.NotReady, false, false, 'retry'],
      [ErrorCode.NotReady, false, true, 'end'], // a first subscribe with one URL is refused to its caller
      [ErrorCode.RateLimited, true, false, 'retry'],
      [ErrorCode.RateLimited, false, false, 'retry'],
      [ErrorCode.Forbidden, true, false, 'end'],
      [ErrorCode.TooManySubscriptions, false, false, 'end'],
    ];
    for (const [code, others, awaited, expected] of cases) expect(afterRefusal(code, others, awaited), `${code} ${others} ${awaited}`).toBe(expected);
  });
});
