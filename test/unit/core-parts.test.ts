// Proves the core group's pure parts on their own, deterministically: the channel's hold-back,
// acks, stability and retransmission; the ordering rules (FIFO, causal hold-back by vector
// timestamp, safe waiting for stability, the flush's limits); the member's refusal of malformed
// peer messages; the coordinator's choice of whom a bridge partition costs; and that the same inputs give the same outputs (a seeded run replays exactly).
import { describe, expect, it } from 'vitest';
import { assert, InvariantError } from '../../broker/core/index.js';
import { Load } from '../../broker/node/replica-load.js';
import { Member } from '../../broker/core/index.js';
import { ViewChannel } from '../../broker/core/channel.js';
import type { DataMessage } from '../../broker/core/messages.js';
import { ViewOrdering } from '../../broker/core/ordering.js';
import { FailureDetector } from '../../broker/core/failure-detector.js';
import { isPeerMessage } from '../../broker/core/validate.js';
import { StreamTakeovers, earlyBytesMax, earlyMax } from '../../broker/core/takeovers.js';
import type { OrderRequest } from '../../broker/core/messages.js';
import { runSimulation } from '../sim/run.js';

const members = ['a#1', 'b#1', 'c#1'];

function data(sender: string, seq: number, extra: Partial<DataMessage> = {}): DataMessage {
  return { kind: 'data', view: 1, sender, seq, order: 'fifo', safe: false, origin: sender, key: `${sender}/${seq}`, originSeq: seq, payload: seq, ...extra };
}

describe('ViewChannel', () => {
  it('holds back out-of-order messages and releases them in order, once', () => {
    const ch = new ViewChannel(members, 'a#1');
    expect(ch.receive(data('b#1', 2))).toEqual([]);
    expect(ch.receive(data('b#1', 3))).toEqual([]);
    expect(ch.receive(data('b#1', 1)).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(ch.receive(data('b#1', 2))).toEqual([]);
    expect(ch.receive(data('x#9', 1))).toEqual([]);
    expect(ch.ackVector()).toEqual({ 'a#1': 0, 'b#1': 3, 'c#1': 0 });
  });

  it('counts a message stable once every member acknowledged it, and frees it once delivered too', () => {
    const ch = new ViewChannel(members, 'a#1');
    for (let seq = 1; seq <= 3; seq++) ch.receive(data('b#1', seq));
    expect(ch.stableOf('b#1')).toBe(0);
    ch.onAcks('b#1', [0, 3, 0]);
    ch.onAcks('c#1', [0, 2, 0]);
    expect(ch.stableOf('b#1')).toBe(2);
    ch.collect(() => 1);
    expect(ch.allHeld().map((m) => m.seq)).toEqual([2, 3]);
  });

  it('retransmits own messages a member has not acknowledged, after the timeout only', () => {
    const ch = new ViewChannel(members, 'a#1');
    for (let i = 0; i < 3; i++) {
      const seq = ch.nextSeq();
      ch.markSent(seq, 0);
      ch.receive(data('a#1', seq));
    }
    ch.onAcks('b#1', [3, 0, 0]);
    ch.onAcks('c#1', [1, 0, 0]);
    expect(ch.retransmissions(5, 10)).toEqual([]);
    expect(ch.retransmissions(10, 10).map(([to, m]) => `${to}:${m.seq}`)).toEqual(['c#1:2', 'c#1:3']);
    expect(ch.unstableOwn()).toBe(2);
  });

  it("learns another sender's stability from its announcement, never above what it received itself", () => {
    const ch = new ViewChannel(members, 'a#1');
    for (let seq = 1; seq <= 3; seq++) ch.receive(data('b#1', seq));
    expect(ch.stableOf('b#1')).toBe(0);
    ch.onStable('b#1', 2);
    expect(ch.stableOf('b#1')).toBe(2);
    ch.onStable('b#1', 1); // an older announcement changes nothing
    expect(ch.stableOf('b#1')).toBe(2);
    ch.onStable('b#1', 9);
    expect(ch.stableOf('b#1')).toBe(3);
    ch.onStable('x#9', 5); // not a member of the view
    expect(ch.stableOf('x#9')).toBe(0);
  });

  it('sends nothing again to a member whose ack keeps moving, and backs off from one that does not answer', () => {
    const ch = new ViewChannel(members, 'a#1');
    for (let i = 0; i < 10; i++) {
      const seq = ch.nextSeq();
      ch.markSent(seq, 0);
      ch.receive(data('a#1', seq));
    }
    ch.onAcks('b#1', [10, 0, 0], 0);
    // c acknowledges slowly (a loaded peer reading a backlog in order): no resend while it moves.
    for (let now = 5, ack = 1; ack <= 6; now += 5, ack++) {
      ch.onAcks('c#1', [ack, 0, 0], now);
      expect(ch.retransmissions(now, 10)).toEqual([]);
    }
    // Its ack stops at 6 (a hole, or a stall): after the timeout, 7..10 once; then the wait doubles.
    const resent = (now: number): string[] => ch.retransmissions(now, 10).map(([to, m]) => `${to}:${m.seq}`);
    expect(resent(39)).toEqual([]);
    expect(resent(40)).toEqual(['c#1:7', 'c#1:8', 'c#1:9', 'c#1:10']);
    expect(resent(55)).toEqual([]);
    expect(resent(60)).toEqual(['c#1:7', 'c#1:8', 'c#1:9', 'c#1:10']);
    expect(resent(90)).toEqual([]);
    expect(resent(100)).toEqual(['c#1:7', 'c#1:8', 'c#1:9', 'c#1:10']);
    expect(resent(170)).toEqual([]);
    expect(resent(180)).toEqual(['c#1:7', 'c#1:8', 'c#1:9', 'c#1:10']);
    expect(resent(259)).toEqual([]);
    expect(resent(260)).toEqual(['c#1:7', 'c#1:8', 'c#1:9', 'c#1:10']);
    // It answers: the backoff ends; the rest goes again only after the ack stops once more.
    ch.onAcks('c#1', [8, 0, 0], 265);
    expect(resent(270)).toEqual([]);
    expect(resent(275)).toEqual(['c#1:9', 'c#1:10']);
  });
});

describe('ViewOrdering', () => {
  const deliverAll = (o: ViewOrdering, stable: (s: string) => number, ignoreStability = false, limit?: (s: string) => number): string[] => {
    const out: string[] = [];
    o.deliverReady(stable, ignoreStability, (m) => out.push(m.key), limit);
    return out;
  };

  it('holds a causal message until what it depends on is delivered', () => {
    const o = new ViewOrdering(members);
    // c's message depends on b's first causal message, which has not arrived yet
    o.push(data('c#1', 1, { order: 'causal', vt: { 'a#1': 0, 'b#1': 1, 'c#1': 1 } }));
    expect(deliverAll(o, () => 0)).toEqual([]);
    o.push(data('b#1', 1, { order: 'causal', vt: { 'a#1': 0, 'b#1': 1, 'c#1': 0 } }));
    expect(deliverAll(o, () => 0)).toEqual(['b#1/1', 'c#1/1']);
    expect(o.vectorFor('a#1', 1)).toEqual({ 'a#1': 1, 'b#1': 1, 'c#1': 1 });
  });

  it('keeps FIFO behind a safe message until it is stable, and the flush lifts the wait', () => {
    const o = new ViewOrdering(members);
    o.push(data('b#1', 1, { safe: true }));
    o.push(data('b#1', 2));
    expect(deliverAll(o, () => 0)).toEqual([]);
    expect(deliverAll(o, () => 1)).toEqual(['b#1/1', 'b#1/2']);
    const f = new ViewOrdering(members);
    f.push(data('b#1', 1, { safe: true }));
    f.push(data('b#1', 2));
    f.push(data('b#1', 3));
    expect(deliverAll(f, () => 0, true, () => 2)).toEqual(['b#1/1', 'b#1/2']);
    expect(f.pendingCount()).toBe(1);
  });
});

describe('FailureDetector, cut links', () => {
  // A bridge partition b1,b2 | b3,b4 that only the coordinator b0 crosses: whatever order the
  // reports come in, the younger side goes (b3, b4), never one side and then the other. A cut link
  // is a pair: counted once per report, b1 (which reported first, and was reported by both of the
  // other side) weighed 4 and went first, then b2 — in a chaos run, every holder of a group.
  const view = ['b0#1', 'b1#1', 'b2#1', 'b3#1', 'b4#1'];
  const reports: Array<[string, string[]]> = [
    ['b1#1', ['b3#1', 'b4#1']],
    ['b3#1', ['b1#1', 'b2#1']],
    ['b4#1', ['b1#1', 'b2#1']],
    ['b2#1', ['b3#1', 'b4#1']],
  ];
  const orders = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 2, 0, 3], [0, 1, 2]];
  for (const order of orders) {
    it(`leaves out the younger side for reports in the order ${order.join(',')}, and nobody before they all came`, () => {
      const detector = new FailureDetector(150);
      detector.onInstall(view, 0);
      // Reports a tick or two apart: no decision on a part of them (the first alone cut its reporter).
      order.forEach((i, t) => {
        detector.onSuspects(reports[i]![0], reports[i]![1], 'b0#1', true, view, 10 + 2 * t);
        expect([...detector.cutOff]).toEqual([]);
      });
      // The next heartbeats, a moment later, with the same reports.
      for (const i of order) detector.onSuspects(reports[i]![0], reports[i]![1], 'b0#1', true, view, 40);
      expect([...detector.cutOff].sort()).toEqual(['b3#1', 'b4#1']);
    });
  }

  it('decides within half a suspicion timeout even while the reports keep changing', () => {
    const detector = new FailureDetector(150);
    detector.onInstall(view, 10);
    for (let t = 0; t <= 75; t++) detector.onSuspects('b1#1', t % 2 === 0 ? ['b3#1'] : ['b3#1', 'b4#1'], 'b0#1', true, view, 10 + t);
    expect(detector.cutOff.size).toBeGreaterThan(0);
  });
});

describe('StreamTakeovers, requests that come before an own take-over', () => {
  function takeovers(): { t: StreamTakeovers; sequenced: OrderRequest[] } {
    const sequenced: OrderRequest[] = [];
    const t: StreamTakeovers = new StreamTakeovers({
      id: 'a#1',
      lanes: { resume: () => {} },
      audiences: { resume: () => {} },
      outgoing: { resend: () => {}, takingOver: (stream) => stream === 2 },
      onOrderRequest: (r) => void sequenced.push(r),
      isMember: () => true,
      placeOf: () => 'b#1',
      payloadBytes: (payload) => (payload as { bytes: number }).bytes,
    });
    return { t, sequenced };
  }
  const request = (n: number, bytes: number, stream = 2): OrderRequest => ({ kind: 'order-request', view: 1, order: 'total', stream, key: `c#1/${n}`, origin: 'c#1', originSeq: n, streamSeq: n, safe: true, payload: { bytes } });

  it('keeps them by count and by payload bytes, and hands them to itself once its take-over is delivered', () => {
    const { t, sequenced } = takeovers();
    const big = Math.floor(earlyBytesMax / 4);
    for (let n = 1; n <= 5; n++) t.notMine(request(n, big));
    // The fifth would pass the byte bound: not kept (its origin hands it again).
    expect(t.waiting).toEqual({ requests: 4, bytes: 4 * big });
    t.notMine(request(2, big)); // a retry replaces, it does not add
    t.notMine(request(9, 1, 3)); // a stream this member is not taking over
    expect(t.waiting).toEqual({ requests: 4, bytes: 4 * big });
    t.delivered({ kind: 'data', view: 1, sender: 'b#1', seq: 7, order: 'total', safe: true, origin: 'a#1', key: 'a#1/1', originSeq: 1, stream: 2, streamPos: 7, streamSeq: 1, payload: null, takeOver: true });
    t.afterDeliveries();
    expect(sequenced.map((r) => r.originSeq)).toEqual([1, 2, 3, 4]);
    expect(t.waiting).toEqual({ requests: 0, bytes: 0 });
  });

  it('keeps at most earlyMax requests however small', () => {
    const { t } = takeovers();
    for (let n = 1; n <= earlyMax + 5; n++) t.notMine(request(n, 0));
    expect(t.waiting.requests).toBe(earlyMax);
  });
});

describe('Member', () => {
  it('counts and drops malformed peer messages without throwing', () => {
    const m = new Member({ id: 'a#1' });
    m.found();
    m.drain();
    const garbage: unknown[] = [null, 42, 'x', [], { kind: 'data' }, { kind: 'data', view: -1 }, { kind: 'batch', items: 'no' }, { kind: 'hb', view: 1, acks: { x: 'y' } }, { kind: 'flush-final', view: 1, attempt: 1, targets: {}, union: [{}], group: [], next: { id: 2, members: [] } }, { kind: 'nope', view: 1 }];
    for (const g of garbage) expect(() => m.receive('b#1', g as never)).not.toThrow();
    expect(m.malformedTotal).toBe(garbage.length);
    expect(m.view).toEqual({ id: 1, members: ['a#1'], primary: true });
  });

  it('takes a take-over flag only as `true` and only on an abcast (a hostile peer cannot move a stream with another value)', () => {
    const request = { kind: 'order-request', view: 1, order: 'total', stream: 2, key: 'b#1/3', origin: 'b#1', originSeq: 3, streamSeq: 1, safe: true, payload: null };
    const data = { kind: 'data', view: 1, sender: 'a#1', seq: 4, order: 'total', safe: true, origin: 'b#1', key: 'b#1/3', originSeq: 3, stream: 2, streamPos: 9, streamSeq: 1, payload: null };
    expect(isPeerMessage({ ...request, takeOver: true })).toBe(true);
    expect(isPeerMessage({ ...data, takeOver: true })).toBe(true);
    for (const bad of ['yes', 1, false, null]) {
      expect(isPeerMessage({ ...request, takeOver: bad })).toBe(false);
      expect(isPeerMessage({ ...data, takeOver: bad })).toBe(false);
    }
    expect(isPeerMessage({ ...request, order: 'group', takeOver: true })).toBe(false);
    expect(isPeerMessage({ ...data, order: 'fifo', takeOver: true })).toBe(false);
  });

  it('refuses a take-over that is not safe (a take-over must be found at every survivor before the new sequencer\'s messages)', () => {
    const request = { kind: 'order-request', view: 1, order: 'total', stream: 2, key: 'b#1/3', origin: 'b#1', originSeq: 3, streamSeq: 1, safe: false, payload: null, takeOver: true };
    expect(isPeerMessage(request)).toBe(false);
    expect(isPeerMessage({ kind: 'data', view: 1, sender: 'a#1', seq: 4, order: 'total', safe: false, origin: 'b#1', key: 'b#1/3', originSeq: 3, stream: 2, streamPos: 9, streamSeq: 1, payload: null, takeOver: true })).toBe(false);
    // Positions are counts: a take-over's is where its new sequencer counts on from.
    for (const bad of [-1, 1.5, 'x']) expect(isPeerMessage({ kind: 'data', view: 1, sender: 'a#1', seq: 4, order: 'total', safe: true, origin: 'b#1', key: 'b#1/3', originSeq: 3, stream: 2, streamPos: bad, streamSeq: 1, payload: null })).toBe(false);
  });

  it("takes a stub's size only as a count, and only on a stub", () => {
    const stub = { kind: 'data', view: 1, sender: 'a#1', seq: 4, order: 'total', safe: true, origin: 'b#1', key: 'b#1/3', originSeq: 3, stream: 2, streamPos: 9, streamSeq: 1, audience: [0], stub: true, payload: null };
    expect(isPeerMessage({ ...stub, size: 4096 })).toBe(true);
    for (const bad of [-1, 1.5, 'x', null]) expect(isPeerMessage({ ...stub, size: bad })).toBe(false);
    expect(isPeerMessage({ ...stub, stub: undefined, payload: 'x', size: 4096 })).toBe(false);
  });

  it('sequences only requests a member hands on in its own name (no take-over for a member that does not exist)', () => {
    const a = new Member({ id: 'a#1' });
    const b = new Member({ id: 'b#1' });
    a.found();
    b.join(['a#1']);
    a.receive('b#1', (b.drain().find((x) => x.kind === 'send') as { message: never }).message);
    a.tick();
    a.drain();
    a.stateReady(null);
    b.receive('a#1', (a.drain().find((x) => x.kind === 'send' && x.to === 'b#1') as { message: never }).message);
    b.drain();
    const view = a.view!.id;
    const stream = [0, 1, 2, 3, 4, 5].find((s) => a.sequencerOf(s) === 'a#1')!;
    const request = (fields: Record<string, unknown>): never => ({ kind: 'order-request', view, order: 'total', stream, streamSeq: 1, safe: true, payload: null, ...fields }) as never;
    const sequenced = (): number => a.drain().filter((x) => x.kind === 'send' && JSON.stringify((x as { message: unknown }).message).includes('"kind":"data"')).length;
    a.receive('b#1', request({ key: 'ghost#1/1', origin: 'ghost#1', originSeq: 1, takeOver: true }));
    expect(sequenced()).toBe(0);
    expect(a.sequencerOf(stream)).toBe('a#1');
    a.receive('b#1', request({ key: 'a#1/7', origin: 'b#1', originSeq: 1 })); // a key in another member's name
    expect(sequenced()).toBe(0);
    a.receive('b#1', request({ key: 'b#1/1', origin: 'b#1', originSeq: 1 }));
    expect(sequenced()).toBe(1);
  });

  it('refuses an unknown multicast order as a programmer error', () => {
    const m = new Member({ id: 'a#1' });
    m.found();
    expect(() => m.multicast('x', { order: 'sideways' as never })).toThrow(/unknown multicast order/);
  });

  it('packs what one turn sends to one member into one batch, and hands a joiner the state', () => {
    const a = new Member({ id: 'a#1' });
    const b = new Member({ id: 'b#1' });
    a.found();
    b.join(['a#1']);
    const join = b.drain().find((x) => x.kind === 'send')!;
    a.receive('b#1', (join as { message: never }).message);
    a.tick();
    expect(a.drain().map((x) => x.kind)).toContain('get-state');
    a.stateReady({ counter: 7 });
    const install = a.drain().find((x) => x.kind === 'send' && x.to === 'b#1') as { message: never };
    b.receive('a#1', install.message);
    const joined = b.drain();
    expect(joined.find((x) => x.kind === 'set-state')).toEqual({ kind: 'set-state', state: { counter: 7 } });
    expect(b.view?.members).toEqual(['a#1', 'b#1']);
    for (let i = 0; i < 3; i++) a.multicast({ i }, { order: 'fifo' });
    const toB = a.drain().filter((x) => x.kind === 'send' && x.to === 'b#1');
    expect(toB).toHaveLength(1);
    const message = (toB[0] as { message: { kind: string; items: Array<{ kind: string }> } }).message;
    expect(message.kind).toBe('batch');
    expect(message.items.filter((x) => x.kind === 'data')).toHaveLength(3);
  });
});

describe('determinism', () => {
  it('replays a seeded run exactly: the same logs, event for event', () => {
    const first = runSimulation({ seed: 7, members: 5 });
    const second = runSimulation({ seed: 7, members: 5 });
    expect(second.events).toEqual(first.events);
    expect(second.stats).toEqual(first.stats);
    expect(second.ticks).toBe(first.ticks);
    const third = runSimulation({ seed: 8, members: 5 });
    expect(third.events).not.toEqual(first.events);
  });
});

describe('assert', () => {
  it('throws an InvariantError naming the invariant, and nothing when it holds', () => {
    expect(() => assert(false, 'view ids increase')).toThrow(InvariantError);
    expect(() => assert(false, 'view ids increase')).toThrow(/invariant broken: view ids increase/);
    expect(() => assert(true, 'never')).not.toThrow();
  });

  it('a load marks a position once', () => {
    const load = new Load(0);
    load.mark('m#1/1');
    expect(() => load.mark('m#1/1')).toThrow(InvariantError);
  });
});
