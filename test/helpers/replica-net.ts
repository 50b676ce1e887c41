/**
 * A deterministic stand-in for the core group under broker/node/replicas.ts:
 * one stream per lightweight group, all delivered in one total order to every
 * broker of the view (a test may pick which origin's oldest request goes next:
 * the core keeps only each origin's order), with the core's audience rule
 * (elided payloads only to the stream's audience, stubs to the rest),
 * presence of departed brokers dropped at each view (as cluster-node.ts does),
 * and point-to-point notes queued for the test to hand over when it chooses —
 * so a test can put a snapshot before its control, lose it, or change the view
 * in between.
 */
import type { Delivery, MulticastOptions } from '../../broker/core/index.js';
import { Replicas, type PeerNote } from '../../broker/node/replicas.js';
import { TopicTable } from '../../broker/topics/index.js';
import { lwgOf, ownersOf } from '../../lightweight-groups/index.js';

interface Sent {
  origin: string;
  key: string;
  payload: unknown;
  options: MulticastOptions;
}

export class ReplicaBroker {
  readonly table: TopicTable;
  readonly replicas: Replicas;
  /** Every topic message this broker's table emitted, in order: what its subscribers would see. */
  readonly emitted: Array<[string, number]> = [];
  /** Answers to its own commands (the first counts, as in MeshStream) … */
  readonly answers = new Map<string, number | string>();
  /** … and own commands delivered here unapplied (MeshStream times these out). */
  readonly awaiting = new Set<string>();
  readonly pinned = new Set<string>();
  count = 0;
  /** Times this broker closed its sessions because copies it served were taken back. */
  resyncs = 0;

  constructor(
    public id: string,
    net: ReplicaNet,
  ) {
    this.table = new TopicTable({
      limits: { historyLengthMax: 1000, historyBytesMax: 1e9, historyRules: [], stateBytesMax: 1e6, topicsMax: 1e6 },
      sink: { message: (t, s) => void this.emitted.push([t, s]), presence: () => {} },
      newEpoch: (c, id) => String(id ?? c?.id ?? 'x'),
      streamOf: (t) => lwgOf(t, net.lwgCount),
      isPinned: () => true,
    });
    this.replicas = new Replicas(
      { lwgCount: net.lwgCount, replicas: net.replicas },
      {
        self: () => (net.view.includes(this.id) ? this.id : undefined),
        multicast: (payload, options) => net.submit(this, payload, options),
        sendPeer: (to, note) => void net.notes.push({ to, note }),
        answer: (key, result) => {
          this.awaiting.delete(key);
          if (!this.answers.has(key)) this.answers.set(key, result.ok ? result.seq : result.message);
        },
        delivered: (key) => void (this.answers.has(key) || this.awaiting.add(key)),
        isPinned: (t) => this.pinned.has(t),
        dropDeparted: () => this.dropDeparted(net.view),
        now: () => net.clock,
        resync: () => void this.resyncs++,
      },
    ).bind(this.table);
  }

  /** Presence of sessions of brokers not in `view` goes (sessions are `member/…`). */
  dropDeparted(view: readonly string[]): void {
    this.table.dropPresence((session) => !view.includes(session.slice(0, session.lastIndexOf('/'))));
  }

  seq(topic: string): number | undefined {
    return this.table.get(topic)?.seq;
  }

  /** What a local subscriber would do: wait until the topic is kept, then subscribe (pin). Returns the emitted index it starts at. */
  subscribe(topic: string): { startedAt?: number; seq?: number; failed?: boolean } {
    const at: { startedAt?: number; seq?: number; failed?: boolean } = {};
    const go = (): void => {
      at.startedAt = this.emitted.length;
      at.seq = this.seq(topic) ?? 0;
      this.pinned.add(topic);
      this.replicas.pin(topic);
    };
    if (this.replicas.keeps(topic)) go();
    else this.replicas.await(topic, (fail) => (fail === undefined ? go() : void (at.failed = true)));
    return at;
  }

  /** Seqs of `topic` emitted since `from`. */
  seqsSince(topic: string, from: number): number[] {
    return this.emitted.slice(from).filter(([t]) => t === topic).map(([, s]) => s);
  }
}

export class ReplicaNet {
  readonly brokers = new Map<string, ReplicaBroker>();
  readonly queue: Sent[] = [];
  readonly notes: Array<{ to: string; note: PeerNote }> = [];
  view: string[] = [];
  /** The brokers' clock, ms (moved by the test). */
  clock = 0;
  private readonly audiences = new Map<number, Set<string>>();

  constructor(
    names: string[],
    readonly replicas = 2,
    readonly lwgCount = 1,
  ) {
    for (const n of names) this.brokers.set(n, new ReplicaBroker(n, this));
  }

  get(id: string): ReplicaBroker {
    return this.brokers.get(id)!;
  }

  owners(view = this.view, lwg = 0): string[] {
    return ownersOf(lwg, view, this.replicas);
  }

  private audience(stream: number): Set<string> {
    let set = this.audiences.get(stream);
    if (set === undefined) this.audiences.set(stream, (set = new Set()));
    return set;
  }

  submit(from: ReplicaBroker, payload: unknown, options: MulticastOptions): string {
    const key = `${from.id}/${++from.count}`;
    this.queue.push({ origin: from.id, key, payload, options });
    return key;
  }

  publish(from: string, topic: string, data: unknown): string {
    return this.command(from, { kind: 'publish', topic, msgKind: 'event', data, ts: 0 });
  }

  /** A presence change by a session of broker `from`. */
  presence(from: string, topic: string, session: string, join: boolean): string {
    const s = `${from}/${session}`;
    return this.command(from, join ? { kind: 'presence-join', topic, session: s, entry: { client: s }, ts: 0 } : { kind: 'presence-leave', topic, session: s, ts: 0 });
  }

  private command(from: string, command: Record<string, unknown> & { topic: string }): string {
    return this.submit(this.get(from), { command }, { order: 'total', safe: true, elide: true, stream: lwgOf(command.topic, this.lwgCount) });
  }

  /** Puts the oldest request of the `i`-th origin with requests queued first (the core orders only each origin's). */
  reorder(i: number): void {
    const origins = [...new Set(this.queue.map((m) => m.origin))];
    const origin = origins[i % Math.max(1, origins.length)];
    const at = this.queue.findIndex((m) => m.origin === origin);
    if (at > 0) this.queue.unshift(...this.queue.splice(at, 1));
  }

  /**
   * Delivers the next multicast: first at `early` brokers, then (after handing over the notes, if
   * `notesBetween`) at the rest — not at `missing` ones (cut off before it: the next view must
   * leave them out, as the core's flush does with members that did not deliver what others did).
   */
  step(early: string[] = [], notesBetween = false, missing: string[] = []): void {
    const m = this.queue.shift()!;
    if (!this.view.includes(m.origin)) return;
    const stream = m.options.stream ?? 0;
    const audience = this.audience(stream);
    if (m.options.audience === 'add') audience.add(m.origin);
    if (m.options.audience === 'remove') audience.delete(m.origin);
    const order = [...early, ...this.view.filter((id) => !early.includes(id))].filter((id) => !missing.includes(id));
    for (const id of order) this.get(id).replicas.table.advance(stream, (m.payload as { command?: unknown } | null)?.command !== undefined);
    order.forEach((id, i) => {
      if (notesBetween && i === early.length) this.handNotes();
      const stub = m.options.elide === true && !audience.has(id);
      const d: Delivery = { key: m.key, origin: m.origin, order: 'total', safe: true, stream, payload: stub ? null : m.payload, view: 1 };
      if (stub) d.stub = true;
      this.get(id).replicas.deliver(d);
    });
  }

  drain(): void {
    while (this.queue.length > 0) this.step();
  }

  handNotes(): void {
    for (const { to, note } of this.notes.splice(0)) {
      if (!this.view.includes(to)) continue;
      const b = this.get(to).replicas;
      if (note.kind === 'lwg-snap') b.onSnapshot(note);
      else b.onResult(note);
    }
  }

  /** Everything queued and noted, until quiet. */
  settle(): void {
    for (let i = 0; i < 100 && (this.queue.length > 0 || this.notes.length > 0); i++) {
      this.drain();
      this.handNotes();
    }
  }

  /**
   * A new view: brokers gone stop; the audience loses them (as the core prunes it); brokers new
   * to the mesh are made, with the lightweight-group table of a member as their state transfer.
   * What is still queued is delivered in the new view (the core hands unordered requests to the
   * new view's sequencers), except what brokers that left had sent.
   */
  /**
   * Broker `id` was excluded and starts again in place as `newId` (BrokerNode.reincarnate): what it
   * kept is reset — complete copies put aside — and it joins at the next `install` that lists it.
   */
  reincarnate(id: string, newId: string): ReplicaBroker {
    const b = this.get(id);
    b.replicas.reset(id);
    this.brokers.delete(id);
    b.id = newId;
    this.brokers.set(newId, b);
    this.rejoining.add(newId);
    return b;
  }

  private readonly rejoining = new Set<string>();

  install(view: string[]): void {
    const donor = this.view.find((id) => view.includes(id) && !this.rejoining.has(id));
    for (const id of view) {
      if (this.rejoining.delete(id) && donor !== undefined) this.get(id).replicas.table.restore(this.get(donor).replicas.table.snapshot());
      if (this.brokers.has(id)) continue;
      const joiner = new ReplicaBroker(id, this);
      if (donor !== undefined) joiner.replicas.table.restore(this.get(donor).replicas.table.snapshot());
      this.brokers.set(id, joiner);
    }
    this.view = view;
    for (const audience of this.audiences.values()) for (const id of [...audience]) if (!view.includes(id)) audience.delete(id);
    for (let i = this.queue.length - 1; i >= 0; i--) if (!view.includes(this.queue[i]!.origin)) this.queue.splice(i, 1);
    for (const id of view) {
      this.get(id).dropDeparted(view);
      this.get(id).replicas.onView(view);
    }
  }
}

/** Seven brokers a…g in one view, one group owned by X and Y; V2 is the view without them. */
export function sevenBrokers(): { net: ReplicaNet; X: string; Y: string; V1: string[]; V2: string[] } {
  const net = new ReplicaNet(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const V1 = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  net.install(V1);
  net.settle();
  const [X, Y] = net.owners(V1) as [string, string];
  return { net, X, Y, V1, V2: V1.filter((m) => m !== X && m !== Y) };
}
