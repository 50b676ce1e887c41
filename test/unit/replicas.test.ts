// Proves broker/node/replicas.ts — which topics a broker keeps, and how it loads them — against a
// deterministic stand-in for the core group (test/helpers/replica-net.ts): one total order per
// stream, the audience rule, and peer notes the test hands over when it chooses. Each case is an
// ordering that once broke a guarantee (found by review): a broker must never serve a stale
// copy, apply a command twice, leave a gap for a subscriber, or leave its own publish unanswered.
import { describe, expect, it } from 'vitest';
import { peerNote } from '../../broker/node/peer-notes.js';
import { TopicTable } from '../../broker/topics/index.js';
import { groupWaitMs } from '../../broker/node/replicas.js';
import { ReplicaNet, sevenBrokers } from '../helpers/replica-net.js';

const T = 'room.1';

/** Five brokers; W is no owner in V1 and becomes one when owner X leaves (V2); Z leaves next (V3). */
function fiveBrokers() {
  const net = new ReplicaNet(['a', 'b', 'c', 'd', 'e']);
  const V1 = ['a', 'b', 'c', 'd', 'e'];
  const o1 = net.owners(V1);
  for (const X of o1) {
    for (const W of V1.filter((m) => !o1.includes(m))) {
      const V2 = V1.filter((m) => m !== X);
      if (!net.owners(V2).includes(W)) continue;
      const Z = V2.find((m) => m !== W && !net.owners(V2).includes(m))!;
      const Y = o1.find((m) => m !== X)!;
      net.install(V1);
      net.settle();
      return { net, V1, V2, V3: V2.filter((m) => m !== Z), W, X, Y };
    }
  }
  throw new Error('no such views');
}

describe('replicas', () => {
  it('keeps a group on its owners only, and a topic where a subscriber wants it, loaded at its want', () => {
    const { net, V1, W, Y } = fiveBrokers();
    for (let i = 0; i < 3; i++) net.publish(Y, T, i);
    net.settle();
    for (const id of V1) expect(net.get(id).seq(T)).toBe(net.owners().includes(id) ? 3 : undefined);
    const w = net.get(W);
    const sub = w.subscribe(T);
    net.publish(Y, T, 3);
    net.settle();
    expect(sub.seq).toBe(3);
    expect(w.seqsSince(T, sub.startedAt!)).toEqual([4]);
    expect(w.seq(T)).toBe(4);
  });

  it('loads a snapshot that comes before its own control', () => {
    const { net, W, Y } = fiveBrokers();
    for (let i = 0; i < 3; i++) net.publish(Y, T, i);
    net.settle();
    const w = net.get(W);
    const sub = w.subscribe(T);
    const server = net.owners()[0]!;
    // The want reaches the server first, and the server's snapshot reaches W before the want does.
    net.step([server], true);
    net.publish(Y, T, 3);
    net.settle();
    expect(sub.seq).toBe(3);
    expect(w.seqsSince(T, sub.startedAt!)).toEqual([4]);
  });

  it('asking again at a view change keeps buffering: no stale copy is served, own publish answered right', () => {
    const { net, V2, V3, W, Y } = fiveBrokers();
    const w = net.get(W);
    const sub = w.subscribe(T);
    net.settle();
    for (let i = 0; i < 3; i++) net.publish(Y, T, i);
    net.settle();
    net.install(V2); // W becomes an owner: its hold is delivered, the snapshot is lost
    net.drain();
    net.notes.length = 0;
    net.publish(Y, T, 'p4');
    net.publish(Y, T, 'p5');
    net.drain();
    net.publish(Y, T, 'p6');
    const mine = net.publish(W, T, 'p7');
    net.install(V3);
    net.drain();
    expect(w.replicas.keeps(T)).toBe(false); // loading: not served from the stale copy
    net.settle();
    const owner = net.get(Y);
    expect(w.seq(T)).toBe(owner.seq(T));
    expect(w.seq(T)).toBe(7);
    expect(w.seqsSince(T, sub.startedAt!)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(w.answers.get(mine) ?? (w.awaiting.has(mine) ? 'awaiting' : 'lost')).not.toBe('lost');
    if (w.answers.has(mine)) expect(w.answers.get(mine)).toBe(7);
  });

  it('a want, then a hold of the same group: nothing is applied twice, whichever snapshot comes first', () => {
    for (const topicFirst of [true, false]) {
      const { net, W, Y } = fiveBrokers();
      for (let i = 0; i < 3; i++) net.publish(Y, T, i);
      net.settle();
      const w = net.get(W);
      w.subscribe(T);
      net.publish(Y, T, 'p4');
      net.publish(Y, T, 'p5');
      w.replicas.patterns(1); // a wildcard subscriber: W holds the group
      net.publish(Y, T, 'p6');
      net.drain();
      if (!topicFirst) net.notes.reverse();
      net.settle();
      expect(w.seq(T)).toBe(6);
      net.publish(Y, T, 'p7');
      net.settle();
      expect(w.seq(T)).toBe(net.get(Y).seq(T));
      expect(w.seq(T)).toBe(7);
    }
  });

  it('a subscribe while the group is being let go leaves no gap', () => {
    const { net, W, Y } = fiveBrokers();
    const w = net.get(W);
    w.replicas.patterns(1);
    net.settle();
    for (let i = 0; i < 3; i++) net.publish(Y, T, i);
    net.settle();
    w.replicas.patterns(0); // W is no owner: it says unhold, and serves until that is delivered
    expect(w.replicas.keeps(T)).toBe(false); // … but takes no new subscriber meanwhile
    net.publish(Y, T, 'p3b');
    const sub = w.subscribe(T);
    net.drain();
    net.publish(Y, T, 'p4');
    net.settle();
    expect(sub.seq).toBeDefined();
    const seen = w.seqsSince(T, sub.startedAt!);
    expect(seen).toEqual(Array.from({ length: 5 - sub.seq! }, (_, i) => sub.seq! + 1 + i));
    expect(w.seq(T)).toBe(net.get(Y).seq(T));
  });

  it('when every complete copy is lost at once, the group refuses commands, waits, then every broker that kept any of it starts again alike', () => {
    const { net, X, Y, V2 } = sevenBrokers();
    const W = V2.find((m) => !net.owners(V2).includes(m))!;
    for (let i = 0; i < 3; i++) net.publish(Y, T, i);
    net.settle();
    const w = net.get(W);
    w.subscribe(T);
    net.settle();
    expect(w.seq(T)).toBe(3);
    net.install(V2); // both owners at once: R failures
    net.settle();
    const o = net.owners(V2).find((m) => m !== W)!;
    // The group waits for X and Y to come back with their copies: its commands are refused.
    expect(net.get(o).replicas.table.waiting(0)?.awaiting.sort()).toEqual([X, Y].sort());
    const refused = net.publish(o, T, 'refused');
    net.settle();
    expect(net.get(o).answers.get(refused)).toMatch(/waits for/);
    expect(w.seq(T)).toBe(3);
    // They never do: once the wait is given up, the group starts again, empty.
    net.clock += groupWaitMs;
    for (const id of V2) net.get(id).replicas.tick();
    net.settle();
    expect(net.get(o).replicas.table.waiting(0)).toBeUndefined();
    net.clock += 6000; // W asks again for its topic, now that the group has holders
    for (const id of V2) net.get(id).replicas.tick();
    net.settle();
    net.publish(o, T, 'after');
    net.settle();
    expect(w.seq(T)).toBe(1);
    expect(net.get(o).seq(T)).toBe(1);
    expect(w.table.get(T)!.epoch).toBe(net.get(o).table.get(T)!.epoch);
  });

  it('an own command buffered while loading is answered, or awaits the answer (and times out)', () => {
    const { net, V2, V3, W } = fiveBrokers();
    const w = net.get(W);
    net.install(V2);
    net.drain();
    const mine = net.publish(W, T, 'mine');
    net.drain();
    net.notes.length = 0; // the server's result and snapshot are lost
    net.install(V3);
    net.settle();
    expect(w.answers.has(mine) || w.awaiting.has(mine)).toBe(true);
    expect(w.replicas.keeps(T)).toBe(true);
  });

  it('a publish through a broker that keeps nothing is answered by the server', () => {
    const { net, W } = fiveBrokers();
    const keys = [net.publish(W, T, 0), net.publish(W, T, 1)];
    net.settle();
    expect(keys.map((k) => net.get(W).answers.get(k))).toEqual([1, 2]);
    expect(net.get(W).seq(T)).toBeUndefined();
  });

  it('takes from peers only well-formed notes (anything else is core traffic, or refused)', () => {
    const snapshot = { topics: [{ name: 't', epoch: 'e', seq: 2, state: null, presence: [['s', { client: 'c' }]], history: [[1, new Uint8Array([1])]] }], dedup: [[0, [['c', 0, [[1, 't', 1]]]]]] };
    expect(peerNote({ kind: 'lwg-snap', key: 'a/1', lwg: 0, snapshot })).toBeDefined();
    expect(peerNote({ kind: 'lwg-result', key: 'a/1', result: { ok: true, seq: 3 } })).toBeDefined();
    const bad = [
      null,
      { kind: 'lwg-result', key: 'a/1', result: { ok: true } },
      { kind: 'lwg-result', key: 'a/1', result: { ok: false, code: 'x', message: 'm' } },
      { kind: 'lwg-snap', key: 7, lwg: 0, snapshot },
      { kind: 'lwg-snap', key: 'a/1', lwg: 0.5, snapshot },
      { kind: 'lwg-snap', key: 'a/1', lwg: 0, snapshot: { ...snapshot, topics: [{ ...snapshot.topics[0], presence: null }] } },
      { kind: 'lwg-snap', key: 'a/1', lwg: 0, snapshot: { ...snapshot, topics: [{ ...snapshot.topics[0], history: [[1, 'not bytes']] }] } },
      { kind: 'lwg-snap', key: 'a/1', lwg: 0, snapshot: { ...snapshot, dedup: [[0, [['c', 0, [[1, 2, 3]]]]]] } },
      { kind: 'lwg-snap', key: 'a/1', lwg: 0, snapshot: { topics: {}, dedup: [] } },
    ];
    for (const note of bad) expect(peerNote(note)).toBeUndefined();
  });

  it('a group snapshot replaces the publish ids of its own stream only', () => {
    const table = () =>
      new TopicTable({
        limits: { historyLengthMax: 100, historyBytesMax: 1e9, historyRules: [], stateBytesMax: 1e6, topicsMax: 1e6 },
        sink: { message: () => {}, presence: () => {} },
        newEpoch: () => 'e',
        streamOf: (t) => (t.startsWith('g1.') ? 1 : 0),
        isPinned: () => true,
      });
    const server = table();
    const loader = table();
    const publish = (topic: string, pid: number, id: string) => ({ kind: 'publish' as const, topic, msgKind: 'event' as const, data: 1, ts: 0, client: 'c', pid, id });
    for (const t of [server, loader]) t.apply(publish('g1.x', 7, 'k1'));
    server.apply(publish('g0.y', 8, 'k2'));
    loader.restorePart(server.snapshotPart((t) => t.startsWith('g0.'), 0), (t) => t.startsWith('g0.'), true);
    const retry = publish('g1.x', 7, 'k3');
    expect(loader.apply(retry)).toEqual(server.apply(retry));
    expect(loader.apply(publish('g0.y', 8, 'k4'))).toEqual({ ok: true, seq: 1, dup: true });
  });

  it('a subscriber of a topic not created yet sees every message when its broker starts holding the group', () => {
    const net = new ReplicaNet(['a', 'b', 'c', 'd']);
    net.install(['a', 'b', 'c', 'd']);
    net.settle();
    const owners = net.owners();
    const W = ['a', 'b', 'c', 'd'].find((x) => !owners.includes(x))!;
    const P = owners[0]!;
    const w = net.get(W);
    const sub = w.subscribe(T);
    net.settle();
    expect(sub.seq).toBe(0);
    w.replicas.patterns(1);
    net.drain();
    net.publish(P, T, 1);
    net.publish(P, T, 2);
    net.drain();
    net.notes.length = 0; // the snapshot for the first hold is lost: a second mark, after the publishes
    net.clock += 6000;
    w.replicas.tick();
    net.settle();
    net.publish(P, T, 3);
    net.settle();
    expect(w.seq(T)).toBe(net.get(P).seq(T));
    expect(w.seqsSince(T, sub.startedAt!)).toEqual([1, 2, 3]);
  });

  it('an older own want still on its way is not taken for a newer one (and its idle does not cut the newer one off)', () => {
    const { net, W, Y } = fiveBrokers();
    const w = net.get(W);
    w.replicas.patterns(1); // W holds the group (in its audience)
    net.settle();
    for (let i = 0; i < 2; i++) net.publish(Y, T, i);
    net.settle();
    w.replicas.patterns(0); // unhold on its way
    w.replicas.pin(T); // want #1, no audience change (W is in it)
    w.replicas.unpin(T); // unwant
    net.step(); // the unhold is delivered: W keeps nothing now, and says idle
    net.publish(Y, T, 'x'); // ordered after the idle: a stub for W
    w.pinned.add(T);
    w.replicas.pin(T); // want #2, back into the audience
    net.settle();
    net.clock += 6000;
    w.replicas.tick();
    net.settle();
    net.publish(Y, T, 'y');
    net.settle();
    expect(w.replicas.keeps(T)).toBe(true);
    expect(w.seq(T)).toBe(net.get(Y).seq(T));
    expect(w.seq(T)).toBe(4);
  });

  it('after a group lost every holder, a broker that wants a topic waits for a holder and agrees with it', () => {
    const net = new ReplicaNet(['a', 'b', 'c', 'd', 'e']);
    const all = ['a', 'b', 'c', 'd', 'e'];
    net.install(all);
    net.settle();
    const o1 = net.owners();
    const W = all.find((x) => !o1.includes(x))!;
    const w = net.get(W);
    w.subscribe(T);
    net.publish(W, T, 0);
    net.settle();
    expect(w.seq(T)).toBe(1);
    const V2 = all.filter((x) => !o1.includes(x));
    net.install(V2); // both owners at once: every holder gone
    net.publish(W, T, 'p'); // may be ordered before the new owners' holds
    net.reorder(V2.indexOf(W));
    net.settle();
    net.clock += groupWaitMs; // nobody comes back with a copy: the wait is given up
    for (const id of V2) net.get(id).replicas.tick();
    net.settle();
    net.clock += 6000;
    for (const id of V2) net.get(id).replicas.tick();
    net.settle();
    net.publish(W, T, 'q');
    net.settle();
    const kept = V2.filter((id) => net.get(id).replicas.keeps(T)).map((id) => [net.get(id).seq(T), net.get(id).table.get(T)?.epoch]);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(new Set(kept.map((k) => JSON.stringify(k))).size).toBe(1);
  });

  /** Seven brokers, one group: its owners X and Y, W a broker that keeps T for a subscriber, 3 publishes acknowledged. */
  function heldByTwo() {
    const { net, X, Y, V2 } = sevenBrokers();
    const W = V2[0]!;
    const w = net.get(W);
    w.subscribe(T);
    net.settle();
    const acked = [0, 1, 2].map((i) => net.publish(W, T, i));
    net.settle();
    for (const key of acked) expect(w.answers.get(key)).toEqual(expect.any(Number));
    return { net, V2, X, Y, W, w, acked };
  }

  it('a group whose every copy was cut off waits for them by name, and comes back to their copy with every acknowledged publish', () => {
    const { net, V2, X, Y, W, w } = heldByTwo();
    net.install(V2); // both owners excluded at once (a partition), their copies alive
    net.settle();
    const x = net.reincarnate(X, `${X}#2`);
    const y = net.reincarnate(Y, `${Y}#2`);
    net.install([...V2, x.id]);
    net.settle();
    // X is back with its copy, Y not yet: still waiting (Y's copy may be longer).
    expect(w.replicas.table.waiting(0)?.awaiting).toEqual([Y]);
    const refused = net.publish(W, T, 'while waiting');
    net.settle();
    expect(w.answers.get(refused)).toMatch(/waits for/);
    net.install([...V2, x.id, y.id]);
    net.settle();
    expect(w.replicas.table.waiting(0)).toBeUndefined();
    const after = net.publish(W, T, 'after');
    net.settle();
    expect(w.answers.get(after)).toBe(4);
    for (const id of net.view) if (net.get(id).replicas.keeps(T)) expect([id, net.get(id).seq(T)]).toEqual([id, 4]);
    expect(net.get(net.owners()[0]!).replicas.keeps(T)).toBe(true);
    expect(w.resyncs).toBe(0);
  });

  it('a copy that comes back behind what the others delivered gives its topics a new epoch, and a broker that served more resyncs', () => {
    const { net, V2, X, Y, W, w } = heldByTwo();
    const epoch = w.table.get(T)!.epoch;
    // One more publish reaches everyone but X and Y (cut off just before): W applies it to its copy
    // but does not acknowledge it — only a ready holder's copy counts.
    const unacked = net.publish(W, T, 'seen, not acknowledged');
    net.step([], false, [X, Y]);
    expect(w.seq(T)).toBe(4);
    expect(w.answers.has(unacked)).toBe(false);
    net.install(V2);
    net.settle();
    const x = net.reincarnate(X, `${X}#2`);
    const y = net.reincarnate(Y, `${Y}#2`);
    net.install([...V2, x.id, y.id]);
    net.settle();
    net.clock += 6000;
    for (const id of net.view) net.get(id).replicas.tick();
    net.settle();
    expect(w.resyncs).toBe(1);
    expect(w.seq(T)).toBe(3);
    expect(w.table.get(T)!.epoch).not.toBe(epoch);
    const again = net.publish(W, T, 'seen, not acknowledged');
    net.settle();
    expect(w.answers.get(again)).toBe(4);
    const copies = net.view.filter((id) => net.get(id).replicas.keeps(T)).map((id) => [net.get(id).seq(T), net.get(id).table.get(T)!.epoch]);
    expect(new Set(copies.map((c) => JSON.stringify(c))).size).toBe(1);
  });

  it('a broker restarted from nothing answers the wait with no copy; with none left to come, the group starts empty', () => {
    const { net, V2, X, Y, w } = heldByTwo();
    net.install(V2);
    net.settle();
    // Killed, restarted as fresh processes: no copy to offer.
    net.install([...V2, `${X}#2`, `${Y}#2`]);
    net.settle();
    expect(w.replicas.table.waiting(0)).toBeUndefined();
    expect(w.replicas.figures.counts.lost).toBe(1);
  });
});
