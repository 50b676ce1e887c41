// Orderings around a waiting group (docs/mesh.md, "Waiting groups") that an outside review found
// broke broker/node/replicas.ts and group-waits.ts, each through the real agent over the
// deterministic stand-in for the core group (test/helpers/replica-net.ts).
import { describe, expect, it } from 'vitest';
import { groupWaitMs } from '../../broker/node/replicas.js';
import { ReplicaNet, sevenBrokers } from '../helpers/replica-net.js';

const T = 'room.1';

/**
 * W keeps T for a subscriber, two publishes are acknowledged; then H starts holding the group (a
 * wildcard subscriber) and the server's snapshot for it is held back: returned, to hand over later.
 */
function holdingWithSnapshotHeldBack(net: ReplicaNet, W: string, H: string): Array<(typeof net.notes)[number]> {
  net.get(W).subscribe(T);
  net.settle();
  for (const i of [0, 1]) net.publish(W, T, i);
  net.settle();
  net.get(H).replicas.patterns(1);
  net.drain();
  const snap = net.notes.filter((n) => n.note.kind === 'lwg-snap' && n.to === H);
  net.notes.splice(0, net.notes.length, ...net.notes.filter((n) => !snap.includes(n)));
  expect(snap).toHaveLength(1);
  return snap;
}

describe('waiting groups', () => {
  it('a load that completes during the wait keeps the commands it buffered before it (acknowledged)', () => {
    const { net, V2 } = sevenBrokers();
    const [W, H] = V2 as [string, string];
    const w = net.get(W);
    const snap = holdingWithSnapshotHeldBack(net, W, H);
    // Two more publishes, acknowledged by the server; H buffers them in its load.
    const acked = [2, 3].map((i) => net.publish(W, T, i));
    net.drain();
    net.handNotes();
    for (const key of acked) expect(w.answers.get(key)).toEqual(expect.any(Number));
    net.install(V2); // both owners cut off: the group waits
    net.settle();
    expect(net.get(H).replicas.table.waiting(0)).toBeDefined();
    net.notes.push(...snap); // the snapshot, sent before the cut, arrives now: H's load completes
    net.settle();
    expect(net.get(H).replicas.table.waiting(0)).toBeUndefined();
    expect(net.get(H).seq(T)).toBe(4);
    const after = net.publish(W, T, 'after');
    net.settle();
    expect(w.answers.get(after)).toBe(5);
    expect(net.get(H).seq(T)).toBe(w.seq(T));
  });

  it('a sequencer excluded before its give-up was delivered says it again as its new incarnation', () => {
    const { net, V2 } = sevenBrokers();
    const W = V2.find((m) => m !== net.owners(V2)[0])!;
    net.get(W).subscribe(T);
    net.settle();
    net.publish(W, T, 1);
    net.settle();
    net.install(V2);
    net.settle();
    const S = net.owners(V2)[0]!;
    net.clock += groupWaitMs;
    for (const id of V2) net.get(id).replicas.tick();
    expect(net.queue.some((m) => m.origin === S)).toBe(true); // the give-up, on its way
    const s = net.reincarnate(S, `${S}#2`); // lost with S's exclusion
    net.install(V2.filter((m) => m !== S));
    net.settle();
    net.install([...V2.filter((m) => m !== S), s.id]);
    net.settle();
    expect(net.get(W).replicas.table.waiting(0)).toBeDefined();
    net.clock += groupWaitMs;
    for (const id of net.view) net.get(id).replicas.tick();
    net.settle();
    expect(net.get(W).replicas.table.waiting(0)).toBeUndefined();
  });

  it('a broker whose copy the wait may take stays in the stream audience, so it hears every command once taken', () => {
    const { net, V2 } = sevenBrokers();
    const W = V2.find((m) => !net.owners(V2).slice(0, 2).includes(m))!;
    const R = V2.find((m) => m !== W && !net.owners(V2).slice(0, 2).includes(m))!;
    const w = net.get(W);
    const r = net.get(R);
    w.subscribe(T);
    r.subscribe(T);
    r.replicas.patterns(1); // R holds the group too
    net.settle();
    expect(r.replicas.table.isReady(0, R)).toBe(true);
    net.publish(W, T, 1);
    net.settle();
    r.replicas.patterns(0); // R lets go of its ready copy in this view …
    net.settle();
    net.install(V2); // … and the owners are cut off at its end: the wait waits for R's copy too
    net.settle();
    expect(r.replicas.table.awaits(0, R)).toBe(true);
    // R's subscriber goes: it keeps nothing else of the group, but its offer stands.
    r.pinned.delete(T);
    r.replicas.unpin(T);
    net.settle();
    net.clock += groupWaitMs;
    for (const id of V2) net.get(id).replicas.tick();
    const p0 = net.publish(W, T, 'right after the give-up');
    while (r.replicas.table.waiting(0) !== undefined && net.queue.length > 0) net.step(); // up to the give-up: R's copy is taken
    expect(r.replicas.table.server(0)).toBe(R);
    net.settle();
    expect(w.answers.get(p0)).toBe(2);
    net.clock += 6000;
    for (const id of V2) net.get(id).replicas.tick();
    net.settle();
    for (const id of V2) if (net.get(id).replicas.keeps(T)) expect([id, net.get(id).seq(T)]).toEqual([id, 2]);
  });

  it('a load still waiting when the group comes back behind starts again: a late snapshot from the old server is not loaded', async () => {
    const { net, X, Y, V2 } = sevenBrokers();
    const [W, H] = V2 as [string, string];
    const snap = holdingWithSnapshotHeldBack(net, W, H);
    // One more publish reaches everyone but X and Y (cut off just before): H buffers it.
    net.publish(W, T, 'not acknowledged');
    net.step([], false, [X, Y]);
    net.install(V2);
    net.settle();
    const x = net.reincarnate(X, `${X}#2`);
    const y = net.reincarnate(Y, `${Y}#2`);
    net.install([...V2, x.id, y.id]);
    // Up to the control that ends the wait; then the old server's snapshot arrives, first.
    while (net.get(H).replicas.table.waiting(0) !== undefined && net.queue.length > 0) net.step();
    expect(net.get(H).replicas.table.waiting(0)).toBeUndefined();
    net.notes.unshift(...snap);
    net.handNotes();
    net.settle();
    net.clock += 6000;
    for (const id of net.view) net.get(id).replicas.tick();
    net.settle();
    const server = net.get(net.get(H).replicas.table.server(0)!);
    expect(net.get(H).replicas.keeps(T)).toBe(true);
    expect([net.get(H).seq(T), net.get(H).table.get(T)!.epoch]).toEqual([server.seq(T), server.table.get(T)!.epoch]);
    expect(server.seq(T)).toBe(2);
  });
});
