/**
 * A deterministic stand-in for the core group under broker/mesh/replicas.ts:
 * one stream delivered in one total order to every broker of the view, with
 * the core's audience rule (elided payloads only to the stream's audience,
 * stubs to the rest), and point-to-point notes queued for the test to hand
 * over when it chooses — so a test can put a snapshot before its control,
 * lose it, or change the view in between.
 */
import type { Delivery, MulticastOptions } from '../../broker/core/index.js';
import { Replicas, type PeerNote } from '../../broker/mesh/replicas.js';
import { TopicTable } from '../../broker/topics/index.js';
import { ownersOf } from '../../lightweight-groups/index.js';

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

  constructor(
    readonly id: string,
    net: ReplicaNet,
  ) {
    this.table = new TopicTable({
      limits: { historyLengthMax: 1000, historyBytesMax: 1e9, historyRules: [], stateBytesMax: 1e6, topicsMax: 1e6 },
      sink: { message: (t, s) => void this.emitted.push([t, s]), presence: () => {} },
      newEpoch: (c) => String(c?.id ?? 'x'),
      streamOf: () => 0,
      isPinned: () => true,
    });
    this.replicas = new Replicas(
      { lwgCount: 1, replicas: net.replicas },
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
        dropDeparted: () => {},
        now: () => net.clock,
      },
    ).bind(this.table);
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
  private readonly audience = new Set<string>();

  constructor(
    names: string[],
    readonly replicas = 2,
  ) {
    for (const n of names) this.brokers.set(n, new ReplicaBroker(n, this));
  }

  get(id: string): ReplicaBroker {
    return this.brokers.get(id)!;
  }

  owners(view = this.view): string[] {
    return ownersOf(0, view, this.replicas);
  }

  submit(from: ReplicaBroker, payload: unknown, options: MulticastOptions): string {
    const key = `${from.id}/${++from.count}`;
    this.queue.push({ origin: from.id, key, payload, options });
    return key;
  }

  publish(from: string, topic: string, data: unknown): string {
    return this.submit(this.get(from), { command: { kind: 'publish', topic, msgKind: 'event', data, ts: 0 } }, { order: 'total', safe: true, elide: true, stream: 0 });
  }

  /** Delivers the next multicast: first at `early` brokers, then (after handing over the notes, if `notesBetween`) at the rest. */
  step(early: string[] = [], notesBetween = false): void {
    const m = this.queue.shift()!;
    if (!this.view.includes(m.origin)) return;
    if (m.options.audience === 'add') this.audience.add(m.origin);
    if (m.options.audience === 'remove') this.audience.delete(m.origin);
    const order = [...early, ...this.view.filter((id) => !early.includes(id))];
    order.forEach((id, i) => {
      if (notesBetween && i === early.length) this.handNotes();
      const stub = m.options.elide === true && !this.audience.has(id);
      const d: Delivery = { key: m.key, origin: m.origin, order: 'total', safe: true, stream: 0, payload: stub ? null : m.payload, view: 1 };
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
  install(view: string[]): void {
    const donor = this.view.find((id) => view.includes(id));
    for (const id of view) {
      if (this.brokers.has(id)) continue;
      const joiner = new ReplicaBroker(id, this);
      if (donor !== undefined) joiner.replicas.restore(this.get(donor).replicas.snapshot());
      this.brokers.set(id, joiner);
    }
    this.view = view;
    for (const id of [...this.audience]) if (!view.includes(id)) this.audience.delete(id);
    for (let i = this.queue.length - 1; i >= 0; i--) if (!view.includes(this.queue[i]!.origin)) this.queue.splice(i, 1);
    for (const id of view) this.get(id).replicas.onView(view);
  }
}
