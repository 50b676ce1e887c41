/**
 * Which topics this broker keeps, and how it comes to keep them: the mesh's
 * side of lightweight groups (the replicated table is lightweight-groups/).
 *
 * - A broker *holds* a group (every topic's state and history) while it is
 *   one of the group's R owners, or while it has a wildcard subscriber. It
 *   says `hold` on the group's stream, buffers the group's commands from that
 *   position, and the group's *server* (its first ready holder) sends it a
 *   snapshot taken at that very position; it applies snapshot, then buffer,
 *   and says `ready`. It says `unhold` once it is no longer an owner and every
 *   owner is ready, so a view change moves state before anyone drops it.
 * - A broker *wants* a topic while it has a local subscriber to it: `want` on
 *   the stream, a snapshot of that topic at that position from the server,
 *   then every later command of the topic. `unwant` when the last local
 *   subscriber goes; the topic is dropped here.
 * - Commands of a topic this broker does not keep are dropped on receipt and
 *   counted; a broker that does not keep a topic gets its payloads as stubs
 *   only (its audience on the stream follows its holds and wants). A publish
 *   taken here for such a topic is answered by the server (`lwg-result`).
 * A snapshot or answer lost with a broker that died is asked for again at the
 * next view (the view change that removes it): every `hold`/`want` still
 * waiting is said again, and the new server answers that one.
 */
import { ErrorCode } from '../../client/protocol/index.js';
import type { Delivery, MemberId, MessageKey, MulticastOptions } from '../core/index.js';
import { LwgTable, type LwgConfig, type LwgControl, type LwgTableSnapshot } from '../../lightweight-groups/index.js';
import type { ApplyResult, Failure, TableSnapshot, TopicCommand, TopicInterest, TopicTable } from '../topics/index.js';

/** Point-to-point notes between brokers (beside the core group's traffic on the same links). */
export type PeerNote =
  | { kind: 'lwg-snap'; key: MessageKey; lwg: number; topic?: string; snapshot: TableSnapshot }
  | { kind: 'lwg-result'; key: MessageKey; result: ApplyResult };

export interface ReplicasHost {
  /** This broker's member id now (a new incarnation after an exclusion). */
  self(): MemberId | undefined;
  /** Multicasts on the group; undefined when this broker is not in a primary view. */
  multicast(payload: unknown, options: MulticastOptions): MessageKey | undefined;
  sendPeer(to: MemberId, note: PeerNote): void;
  /** A command this broker submitted was applied here or answered by the server. */
  answer(key: MessageKey, result: ApplyResult): void;
  /** A command this broker submitted was delivered here without being applied (the server answers). */
  delivered(key: MessageKey): void;
  isPinned(topic: string): boolean;
  /** After a snapshot taken in an older view was loaded: drop the presence of brokers gone since. */
  dropDeparted(): void;
  log?(event: string, fields: Record<string, unknown>): void;
}

interface Pending {
  /** Key of the own control whose position the snapshot is taken at (undefined until delivered). */
  key: MessageKey | undefined;
  buffer: Delivery[];
}

type Want = { phase: 'asked' | 'active' } | ({ phase: 'loading' } & Pending);

/** How long a subscribe waits for its topic to be loaded, ms. */
const awaitMs = 10_000;

export class Replicas implements TopicInterest {
  readonly table: LwgTable;
  private topicTable!: TopicTable;
  private readonly holding = new Set<number>();
  /** Groups whose `unhold` is on its way: still served until it is delivered. */
  private readonly releasing = new Set<number>();
  private readonly complete = new Set<number>();
  private readonly loading = new Map<number, Pending>();
  private readonly wanted = new Map<string, Want>();
  /** Own controls multicast and not delivered yet (a snapshot for one may come first). */
  private readonly ownControls = new Set<MessageKey>();
  private readonly early = new Map<MessageKey, PeerNote & { kind: 'lwg-snap' }>();
  private readonly waiters = new Map<string, Array<{ ready: (failure?: Failure) => void; until: number }>>();
  private readonly audience = new Set<number>();
  /** Controls that could not go out (no group just then), sent at the next view. */
  private readonly unsent: LwgControl[] = [];
  private patternCount = 0;
  /** Commands dropped on receipt (no local interest), stubs among them, snapshots sent and loaded. */
  readonly counts = { filtered: 0, stubs: 0, snapshotsSent: 0, snapshotsLoaded: 0, lost: 0 };

  constructor(
    config: LwgConfig,
    private readonly host: ReplicasHost,
  ) {
    this.table = new LwgTable(config);
  }

  bind(table: TopicTable): this {
    this.topicTable = table;
    return this;
  }

  lwgOf(topic: string): number {
    return this.table.lwgOf(topic);
  }

  // ---- TopicInterest: what the topic layer asks -----------------------------------------

  keeps(topic: string | undefined): boolean {
    if (topic === undefined) return this.allGroups().every((g) => this.serves(g));
    const g = this.lwgOf(topic);
    if (this.loading.has(g) && this.loading.get(g)!.key !== undefined) return false;
    return this.serves(g) || this.wanted.get(topic)?.phase === 'active';
  }

  await(topic: string | undefined, ready: (failure?: Failure) => void): void {
    const name = topic ?? '*';
    let list = this.waiters.get(name);
    if (list === undefined) this.waiters.set(name, (list = []));
    list.push({ ready, until: Date.now() + awaitMs });
    if (topic === undefined) this.reconcile();
    else if (!this.wanted.has(topic)) this.want(topic);
  }

  pin(topic: string): void {
    if (!this.wanted.has(topic)) this.want(topic);
  }

  unpin(topic: string): void {
    if (this.waiters.has(topic) || !this.wanted.has(topic)) return;
    this.wanted.delete(topic);
    const g = this.lwgOf(topic);
    this.control({ op: 'unwant', lwg: g, topic });
    if (!this.serves(g)) this.topicTable.dropWhere((t) => t === topic);
  }

  patterns(count: number): void {
    this.patternCount = count;
    this.reconcile();
  }

  // ---- the group's stream ---------------------------------------------------------------

  /** A delivery on a group's stream: a control, or a topic command (applied, buffered or dropped). */
  deliver(d: Delivery): void {
    const payload = d.payload as { lwg?: LwgControl; command?: TopicCommand } | null;
    const me = this.host.self();
    if (d.stub === true) {
      this.counts.filtered++;
      this.counts.stubs++;
      if (d.origin === me) this.host.delivered(d.key);
      return;
    }
    if (payload?.lwg !== undefined) return this.onControl(d.origin, d.key, payload.lwg);
    const command = payload?.command;
    if (command === undefined) return;
    const g = this.lwgOf(command.topic);
    const held = this.loading.get(g);
    const want = this.wanted.get(command.topic);
    this.lastResult = undefined;
    if (held?.key !== undefined) held.buffer.push(d);
    else if (want?.phase === 'loading' && want.key !== undefined) want.buffer.push(d);
    else if (this.serves(g) || want?.phase === 'active') this.apply(d, command);
    else {
      this.counts.filtered++;
      if (d.origin === me) this.host.delivered(d.key);
    }
    // The server answers the broker that took a command unless it holds a complete copy (a
    // broker that only wants the topic may have let it go since; the first answer counts).
    const result = this.lastResult;
    if (result !== undefined && me !== undefined && d.origin !== me && this.table.server(g) === me && !this.table.isReady(g, d.origin)) {
      this.host.sendPeer(d.origin, { kind: 'lwg-result', key: d.key, result });
    }
  }

  private lastResult: ApplyResult | undefined;

  private apply(d: Delivery, command: TopicCommand): void {
    const result = this.topicTable.apply({ ...command, id: d.key });
    this.lastResult = result;
    if (d.origin === this.host.self()) this.host.answer(d.key, result);
  }

  private onControl(from: MemberId, key: MessageKey, c: LwgControl): void {
    const me = this.host.self();
    this.table.apply(from, c);
    const mine = from === me;
    if (mine) this.ownControls.delete(key);
    switch (c.op) {
      case 'hold':
        if (mine) {
          if (this.table.isReady(c.lwg, from)) this.becomeComplete(c.lwg);
          else if (this.holding.has(c.lwg)) this.startLoading(this.loading, c.lwg, key);
        } else if (this.table.server(c.lwg, from) === me && this.complete.has(c.lwg)) {
          this.sendSnapshot(from, key, c.lwg, undefined);
        }
        return;
      case 'want':
        if (mine) {
          const w = this.wanted.get(c.topic);
          if (w?.phase !== 'asked') return this.quieten(c.lwg);
          // Held here (or about to be, from the group's snapshot), or nowhere to load it from.
          if (this.serves(c.lwg) || this.loading.get(c.lwg)?.key !== undefined || this.table.server(c.lwg) === undefined) {
            this.wanted.set(c.topic, { phase: 'active' });
            if (this.keeps(c.topic)) this.resolve(c.topic);
          } else {
            const loading: Want = { phase: 'loading', key, buffer: [] };
            this.wanted.set(c.topic, loading);
            const snap = this.early.get(key);
            if (snap !== undefined) this.onSnapshot(snap);
          }
        } else if (this.table.server(c.lwg) === me && this.complete.has(c.lwg) && !this.table.isReady(c.lwg, from)) {
          this.sendSnapshot(from, key, c.lwg, c.topic);
        }
        return;
      case 'unhold':
        if (mine) {
          this.releasing.delete(c.lwg);
          // Refused only to the last complete copy (its owners went meanwhile): it stays.
          if (!this.table.isHolder(c.lwg, from)) {
            this.holding.delete(c.lwg);
            this.complete.delete(c.lwg);
            this.topicTable.dropWhere((t) => this.lwgOf(t) === c.lwg && this.wanted.get(t)?.phase !== 'active');
            this.host.log?.('lwg-released', { lwg: c.lwg });
          }
          this.quieten(c.lwg);
        }
        this.reconcile();
        return;
      case 'unwant':
        if (mine) this.quieten(c.lwg);
        return;
      case 'ready':
        this.reconcile();
        return;
      case 'idle':
        if (mine) this.host.log?.('lwg-idle', { lwg: c.lwg });
        return;
    }
  }

  /** Keeping nothing of a group any more: leave its audience (its payloads stop coming). */
  private quieten(lwg: number): void {
    if (this.audience.has(lwg) && !this.interested(lwg)) this.control({ op: 'idle', lwg });
  }

  private interested(lwg: number): boolean {
    if (this.holding.has(lwg)) return true;
    for (const t of this.wanted.keys()) if (this.lwgOf(t) === lwg) return true;
    return false;
  }

  private startLoading(map: Map<number, Pending>, lwg: number, key: MessageKey): void {
    map.set(lwg, { key, buffer: [] });
    const snap = this.early.get(key);
    if (snap !== undefined) this.onSnapshot(snap);
  }

  private sendSnapshot(to: MemberId, key: MessageKey, lwg: number, topic: string | undefined): void {
    const snapshot = this.topicTable.snapshotPart(topic === undefined ? (t) => this.lwgOf(t) === lwg : (t) => t === topic);
    this.counts.snapshotsSent++;
    this.host.sendPeer(to, topic === undefined ? { kind: 'lwg-snap', key, lwg, snapshot } : { kind: 'lwg-snap', key, lwg, topic, snapshot });
  }

  /** A snapshot from the server: load it if it is the one awaited, keep it if it came before its control. */
  onSnapshot(note: PeerNote & { kind: 'lwg-snap' }): void {
    this.early.delete(note.key);
    if (note.topic === undefined) {
      const p = this.loading.get(note.lwg);
      if (p?.key === note.key) {
        this.topicTable.restorePart(note.snapshot, (t) => this.lwgOf(t) === note.lwg, true);
        this.loading.delete(note.lwg);
        this.counts.snapshotsLoaded++;
        this.replay(p.buffer);
        this.host.dropDeparted();
        this.host.log?.('lwg-loaded', { lwg: note.lwg, topics: note.snapshot.topics.length });
        this.becomeComplete(note.lwg);
        this.control({ op: 'ready', lwg: note.lwg });
        return;
      }
    } else {
      const w = this.wanted.get(note.topic);
      if (w?.phase === 'loading' && w.key === note.key) {
        this.topicTable.restorePart(note.snapshot, (t) => t === note.topic, false);
        this.wanted.set(note.topic, { phase: 'active' });
        this.counts.snapshotsLoaded++;
        this.replay(w.buffer);
        this.host.dropDeparted();
        this.host.log?.('lwg-loaded', { lwg: note.lwg, topic: note.topic });
        this.resolve(note.topic);
        return;
      }
    }
    if (this.ownControls.has(note.key) && this.early.size < 1024) this.early.set(note.key, note);
  }

  private replay(buffer: Delivery[]): void {
    for (const d of buffer) this.deliver(d);
  }

  /** A result for a command this broker submitted, from the group's server. */
  onResult(note: PeerNote & { kind: 'lwg-result' }): void {
    this.host.answer(note.key, note.result);
  }

  // ---- views ----------------------------------------------------------------------------

  /** A new view (after the presence of departed brokers was dropped). */
  onView(members: readonly MemberId[]): void {
    for (const g of this.table.installView(members)) {
      this.counts.lost++;
      this.host.log?.('lwg-state-lost', { lwg: g });
      if (!this.holding.has(g)) continue;
      // Every complete copy left at once: the group starts again, empty, at every holder.
      this.topicTable.dropWhere((t) => this.lwgOf(t) === g);
      this.loading.delete(g);
      this.becomeComplete(g);
    }
    for (const c of this.unsent.splice(0)) this.control(c);
    // What waits for a snapshot is asked again: its server may be gone.
    for (const [g, p] of this.loading) if (p.key !== undefined) this.askAgain(g, p);
    for (const [topic, w] of this.wanted) {
      if (w.phase === 'loading') {
        this.wanted.set(topic, { phase: 'asked' });
        this.control({ op: 'want', lwg: this.lwgOf(topic), topic });
      }
    }
    this.reconcile();
  }

  private askAgain(g: number, p: Pending): void {
    p.key = undefined;
    p.buffer = [];
    this.control({ op: 'hold', lwg: g });
  }

  /** Holds what this broker should hold, lets go of what it need not, as far as the table allows. */
  private reconcile(): void {
    const me = this.host.self();
    if (me === undefined || this.table.ownersOf(0).length === 0) return;
    const everything = this.patternCount > 0 || this.waiters.has('*');
    for (const g of this.allGroups()) {
      const should = everything || this.table.ownersOf(g).includes(me);
      if (should && !this.holding.has(g)) {
        this.holding.add(g);
        this.loading.set(g, { key: undefined, buffer: [] });
        this.control({ op: 'hold', lwg: g });
      } else if (!should && this.holding.has(g) && !this.releasing.has(g) && this.complete.has(g) && this.table.isHolder(g, me) && this.table.ownersReady(g)) {
        this.releasing.add(g);
        this.control({ op: 'unhold', lwg: g });
      }
    }
    if (this.waiters.has('*') && this.keeps(undefined)) this.resolve('*');
  }

  private becomeComplete(g: number): void {
    this.loading.delete(g);
    this.complete.add(g);
    for (const topic of [...this.waiters.keys()]) if (topic !== '*' && this.lwgOf(topic) === g && this.keeps(topic)) this.resolve(topic);
    if (this.waiters.has('*') && this.keeps(undefined)) this.resolve('*');
  }

  private serves(g: number): boolean {
    return this.holding.has(g) && this.complete.has(g) && !this.loading.has(g);
  }

  private want(topic: string): void {
    this.wanted.set(topic, { phase: 'asked' });
    this.control({ op: 'want', lwg: this.lwgOf(topic), topic });
  }

  private resolve(topic: string): void {
    const list = this.waiters.get(topic);
    this.waiters.delete(topic);
    for (const w of list ?? []) w.ready();
    // Loaded for a subscribe whose subscriber has gone meanwhile: let it go again.
    if (topic !== '*' && list !== undefined && !this.host.isPinned(topic)) this.unpin(topic);
    if (topic === '*') this.reconcile();
  }

  /** Subscribes that waited too long are answered (the client may retry, or try elsewhere). */
  tick(now: number): void {
    for (const [topic, list] of this.waiters) {
      const late = list.filter((w) => w.until <= now);
      if (late.length === 0) continue;
      this.waiters.set(topic, list.filter((w) => w.until > now));
      if (this.waiters.get(topic)!.length === 0) this.waiters.delete(topic);
      for (const w of late) w.ready({ ok: false, code: ErrorCode.NotReady, message: `topic ${topic.slice(0, 64)} could not be loaded from its replicas in time; retry` });
    }
  }

  /**
   * Multicasts a control. The one that makes this broker interested in a group brings it into
   * the stream's audience; `idle` takes it out, once what it kept is let go (a hold is let go
   * only when its `unhold` is delivered and accepted, so it never misses a payload it needs).
   */
  private control(c: LwgControl): void {
    const options: MulticastOptions = { order: 'total', safe: true, stream: c.lwg };
    if (c.op === 'idle') options.audience = 'remove';
    else if (this.interested(c.lwg) && !this.audience.has(c.lwg)) options.audience = 'add';
    const key = this.host.multicast({ lwg: c }, options);
    if (key === undefined) {
      if (this.unsent.length < 100_000) this.unsent.push(c);
      return;
    }
    if (options.audience === 'add') this.audience.add(c.lwg);
    if (options.audience === 'remove') this.audience.delete(c.lwg);
    this.ownControls.add(key);
  }

  private allGroups(): number[] {
    return Array.from({ length: this.table.config.lwgCount }, (_, g) => g);
  }

  /** A new incarnation (after an exclusion): nothing is kept, nothing is owed. */
  reset(): void {
    this.holding.clear();
    this.releasing.clear();
    this.complete.clear();
    this.loading.clear();
    this.ownControls.clear();
    this.early.clear();
    this.audience.clear();
    this.unsent.length = 0;
    this.wanted.clear();
    for (const list of this.waiters.values()) for (const w of list) w.ready({ ok: false, code: ErrorCode.NotReady, message: 'this broker left the group; subscribe again' });
    this.waiters.clear();
    this.topicTable.restore({ topics: [], dedup: [] });
  }

  snapshot(): LwgTableSnapshot {
    return this.table.snapshot();
  }

  restore(data: LwgTableSnapshot): void {
    this.table.restore(data);
  }
}
