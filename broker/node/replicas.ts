/**
 * Which topics this broker keeps, and how it comes to keep them: the mesh's
 * side of lightweight groups (the replicated table is lightweight-groups/;
 * docs/mesh.md, "Lightweight groups: who keeps what", tells the protocol).
 * A broker holds the groups it owns (all of them, with a wildcard subscriber)
 * and wants the topics its clients subscribe to; each `hold`/`want` it says is
 * answered by the group's server with a snapshot at that control's position,
 * loaded with the commands buffered since (replica-load.ts; the snapshots
 * themselves: replica-transfers.ts). It serves a topic only while its copy is
 * current, drops on receipt what it does not keep, lets a group go only once
 * every owner is ready, and refuses a group's commands while it waits for a
 * copy (group-waits.ts).
 */
import { ErrorCode } from '../../client/protocol/index.js';
import type { Delivery, MemberId, MessageKey } from '../core/index.js';
import { LwgTable, type LwgConfig, type LwgControl } from '../../lightweight-groups/index.js';
import type { ApplyResult, Failure, TopicCommand, TopicInterest, TopicTable } from '../topics/index.js';
import { Load, commandOf, type Held } from './replica-load.js';
import { ReplicaFigures } from './replica-figures.js';
import { Kept } from './kept.js';
import type { PeerNote } from './peer-notes.js';
import { TopicWaiters } from './topic-waiters.js';
import { GroupControls } from './group-controls.js';
import type { ReplicasHost } from './replicas-host.js';
import { GroupWaits } from './group-waits.js';
import { ReplicaTransfers } from './replica-transfers.js';
import { ClaimPolicy } from './claim-policy.js';
import { OwnControls } from './own-controls.js';

export type { ReplicasHost } from './replicas-host.js';

/** How long a subscribe waits for its topic to be loaded, ms. */
const awaitMs = 10_000;
/** How long a load waits for its snapshot before asking again, ms. */
const askAgainMs = 5_000;
/** How long a group whose copies all left waits for one to come back before it settles without, ms (`--lwg-wait`). */
export const groupWaitMs = 300_000;

export class Replicas implements TopicInterest {
  readonly table: LwgTable;
  private topicTable!: TopicTable;
  private readonly kept: Kept;
  private readonly transfers: ReplicaTransfers;
  private readonly waiters = new TopicWaiters();
  private readonly controls: GroupControls;
  private readonly waits: GroupWaits;
  private readonly own: OwnControls;
  /** Which groups this broker claims (claim-policy.ts): most of their traffic is taken or wanted here. */
  readonly claims: ClaimPolicy;
  private patternCount = 0;
  /** Tags own `hold`/`want` requests (an older one may still be on its way when a new one starts). */
  private tag = 0;
  /** Counts for operators: commands dropped on receipt (stubs among them), snapshots, groups waited and lost. */
  readonly figures = new ReplicaFigures();
  private readonly counts = this.figures.counts;

  constructor(
    config: LwgConfig,
    private readonly host: ReplicasHost,
  ) {
    this.table = new LwgTable(config);
    this.claims = new ClaimPolicy(host.claim);
    this.kept = new Kept((topic) => this.table.lwgOf(topic));
    // A copy kept for a waiting group (offered, or to be) keeps this broker in the stream's audience:
    // taken, it must have heard every command since its offer.
    this.controls = new GroupControls(host.multicast, (lwg) => this.kept.interested(lwg) || this.waits.offers(lwg, this.host.self()));
    // What the waits (group-waits.ts), the snapshot transfers (replica-transfers.ts) and the
    // handlers of own controls (own-controls.ts) may use.
    const agent = {
      table: this.table,
      kept: this.kept,
      host,
      figures: this.figures,
      counts: this.counts,
      controls: this.controls,
      topics: () => this.topicTable,
      lwgOf: (topic: string) => this.lwgOf(topic),
      snapshotOf: (g: number) => this.transfers.snapshotOf(g, undefined),
      applyNow: (d: Delivery) => this.applyNow(d),
      deliver: (d: Delivery) => this.deliver(d, true),
      complete: (g: number, h: Held) => this.complete(g, h),
      resolve: (topic: string) => this.resolve(topic),
      nextTag: () => ++this.tag,
    };
    this.waits = new GroupWaits(this.table, (c) => this.controls.send(c), host.groupWaitMs ?? groupWaitMs, agent);
    this.transfers = new ReplicaTransfers(agent);
    this.own = new OwnControls({ ...agent, resolveKept: (g) => this.resolveKept(g), early: (key) => this.transfers.early(key), keepReleased: (g) => this.waits.keepReleased(g) });
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
    return topic === undefined ? this.kept.keepsAll(this.allGroups()) : this.kept.keeps(topic);
  }

  await(topic: string | undefined, ready: (failure?: Failure) => void): void {
    this.waiters.add(topic ?? '*', ready, this.host.now() + awaitMs);
    if (topic === undefined) this.reconcile();
    else if (!this.kept.wanted.has(topic)) this.want(topic);
  }

  /** Whether a local subscriber wants `topic` (claim-policy.ts counts its traffic as this broker's). */
  wants(topic: string): boolean {
    return this.kept.wanted.has(topic);
  }

  pin(topic: string): void {
    if (!this.kept.wanted.has(topic)) this.want(topic);
  }

  unpin(topic: string): void {
    if (this.waiters.has(topic) || !this.kept.wanted.has(topic)) return;
    this.kept.wanted.delete(topic);
    const g = this.lwgOf(topic);
    this.kept.held.get(g)?.load?.current.delete(topic);
    this.controls.send({ op: 'unwant', lwg: g, topic });
    if (!this.kept.serves(g)) this.topicTable.dropWhere((t) => t === topic);
  }

  patterns(count: number): void {
    this.patternCount = count;
    this.reconcile();
  }

  // ---- the group's stream ---------------------------------------------------------------

  /** A delivery on a group's stream: a control, or a topic command (applied, buffered or dropped). */
  deliver(d: Delivery, replay = false): void {
    const me = this.host.self();
    const own = d.origin === me;
    if (d.stub === true) {
      this.counts.filtered++;
      this.counts.stubs++;
      if (own) this.host.delivered(d.key);
      return;
    }
    const payload = d.payload as { lwg?: LwgControl; command?: TopicCommand } | null;
    if (payload?.lwg !== undefined) return this.onControl(d.origin, d.key, payload.lwg);
    const command = payload?.command;
    if (command === undefined) return;
    const g = this.lwgOf(command.topic);
    // The group waits for a copy of its state: nobody applies (or buffers) its commands meanwhile.
    // (A load's buffer replayed is not refused: it holds only commands taken when delivered.)
    if (!replay && this.table.waiting(g) !== undefined) {
      this.counts.refused++;
      if (own) this.host.answer(d.key, this.waits.refusal(command.topic));
      return;
    }
    const h = this.kept.held.get(g);
    const w = this.kept.wanted.get(command.topic);
    let result: ApplyResult | undefined;
    if (h?.phase === 'loading') h.load!.push(d);
    else if (this.kept.serves(g)) result = this.applyNow(d);
    else if (w?.phase === 'loading' && w.load!.positioned) w.load!.push(d);
    else if (w?.phase === 'active') result = this.applyNow(d);
    else this.counts.filtered++;
    // Only a ready holder answers its own client: the server's copy is the one a wait comes back
    // to, so a publish is acknowledged only once a copy that survives a wait has it.
    if (own && (result === undefined || !this.table.isReady(g, me!))) this.host.delivered(d.key);
    // The server answers the broker that took a command unless it holds a complete copy (one that
    // only wants the topic may have let it go, or be loading; the first answer counts).
    if (result !== undefined && me !== undefined && !own && this.table.server(g) === me && !this.table.isReady(g, d.origin)) {
      this.host.sendPeer(d.origin, { kind: 'lwg-result', key: d.key, result });
    }
  }

  /** Applies a command to this broker's copy; answers it if it was taken here. */
  private applyNow(d: Delivery): ApplyResult | undefined {
    const command = commandOf(d);
    if (command === undefined) return undefined;
    const result = this.topicTable.apply(command, d.key);
    const me = this.host.self();
    if (d.origin === me && this.table.isReady(this.lwgOf(command.topic), me)) this.host.answer(d.key, result);
    return result;
  }

  private onControl(from: MemberId, key: MessageKey, c: LwgControl): void {
    const me = this.host.self();
    const settled = this.table.apply(from, c);
    const mine = from === me;
    if (mine) this.controls.delivered(key);
    if (settled !== undefined) {
      this.waits.settle(settled, key);
      // What waits for a snapshot asks the new server; a copy offered and not taken is let go.
      this.askAgain(0);
      this.reconcile();
      this.controls.quieten(c.lwg);
    }
    switch (c.op) {
      case 'hold':
        if (mine) this.own.hold(c.lwg, key, c.n);
        else if (this.table.server(c.lwg, from) === me && this.kept.serves(c.lwg)) this.transfers.send(from, key, c.lwg, undefined);
        break;
      case 'want':
        if (mine) this.own.want(c.topic, key, c.n);
        else if (this.table.server(c.lwg) === me && this.kept.serves(c.lwg) && !this.table.isReady(c.lwg, from)) this.transfers.send(from, key, c.lwg, c.topic);
        break;
      case 'unhold':
        if (mine) this.own.unhold(c.lwg);
        this.reconcile();
        break;
      case 'unwant':
        if (mine) this.controls.quieten(c.lwg);
        break;
      case 'claim':
      case 'unclaim':
        if (mine) this.host.log?.(c.op === 'claim' ? 'lwg-claimed' : 'lwg-unclaimed', { lwg: c.lwg, owners: this.table.ownersOf(c.lwg) });
        this.reconcile();
        break;
      case 'ready':
        this.reconcile();
        break;
      case 'idle':
        if (mine) this.host.log?.('lwg-idle', { lwg: c.lwg });
        break;
      case 'salvage':
      case 'give-up':
        break;
      default: {
        // Every control is handled (the compiler checks); one from a newer broker is logged and skipped.
        const never: never = c;
        this.host.log?.('lwg-unknown-control', { control: JSON.stringify(never).slice(0, 200) });
      }
    }
    // A snapshot that came before its control and was not used by it will not be.
    if (mine) this.transfers.forget(key);
  }

  /** A snapshot from the server (replica-transfers.ts). */
  onSnapshot(note: PeerNote & { kind: 'lwg-snap' }): void {
    this.transfers.onSnapshot(note);
  }

  /** A result for a command this broker submitted, from the group's server. */
  onResult(note: PeerNote & { kind: 'lwg-result' }): void {
    this.host.answer(note.key, note.result);
  }

  // ---- views and time -------------------------------------------------------------------

  /** A new view (after the presence of departed brokers was dropped). */
  onView(members: readonly MemberId[]): void {
    for (const g of this.table.installView(members)) {
      this.counts.waits++;
      this.host.log?.('lwg-waiting', { lwg: g, for: this.table.waiting(g)?.awaiting });
    }
    this.controls.sendUnsent();
    const me = this.host.self();
    if (me !== undefined) this.waits.onView(me);
    // Copies no wait will take any more: their brokers leave the streams' audiences.
    for (const g of this.allGroups()) this.controls.quieten(g);
    // What waits for a snapshot asks again: its server may be gone.
    this.askAgain(0);
    this.reconcile();
  }

  /** Says `hold`/`want` again for loads that waited `olderThanMs` (each adds a position to load at). */
  private askAgain(olderThanMs: number): void {
    const now = this.host.now();
    for (const [g, h] of this.kept.held) {
      if (h.phase !== 'loading' || now - h.load!.askedAt < olderThanMs) continue;
      h.load!.askedAt = now;
      this.controls.send({ op: 'hold', lwg: g, n: h.n });
    }
    for (const [topic, w] of this.kept.wanted) {
      if (w.phase !== 'loading' || now - w.load!.askedAt < olderThanMs) continue;
      w.load!.askedAt = now;
      this.controls.send({ op: 'want', lwg: this.lwgOf(topic), topic, n: w.n });
    }
  }

  /** Subscribes that waited too long are answered (the client may retry, or try elsewhere); lost snapshots are asked for again. */
  tick(): void {
    const now = this.host.now();
    const late = (topic: string): Failure =>
      topic !== '*' && this.table.waiting(this.lwgOf(topic)) !== undefined ? this.waits.refusal(topic) : { ok: false, code: ErrorCode.NotReady, message: `topic ${topic.slice(0, 64)} could not be loaded from its replicas in time; retry` };
    for (const topic of this.waiters.expire(now, late)) {
      // Nobody waits for it any more: let it go again (a wildcard's groups too).
      if (topic === '*') this.reconcile();
      else if (!this.host.isPinned(topic)) this.unpin(topic);
    }
    this.askAgain(askAgainMs);
    const me = this.host.self();
    if (me !== undefined) this.waits.tick(me);
    for (const c of this.claims.look(now, me, this.table)) this.claim(c.lwg, c.op === 'claim');
  }

  /** Claims group `lwg` to own it, or withdraws the claim (claim-policy.ts decides when). */
  claim(lwg: number, on: boolean): void {
    this.controls.send({ op: on ? 'claim' : 'unclaim', lwg });
  }

  /** Holds what this broker should hold, lets go of what it need not, as far as the table allows. */
  private reconcile(): void {
    const me = this.host.self();
    if (me === undefined || this.table.ownersOf(0).length === 0) return;
    const everything = this.patternCount > 0 || this.waiters.has('*');
    for (const g of this.allGroups()) {
      const should = everything || this.table.ownersOf(g).includes(me);
      const h = this.kept.held.get(g);
      if (should && h === undefined) {
        const n = ++this.tag;
        this.kept.held.set(g, { phase: 'asked', releasing: false, n });
        this.controls.send({ op: 'hold', lwg: g, n });
      } else if (!should && h?.phase === 'complete' && !h.releasing && this.table.isHolder(g, me) && this.table.ownersReady(g)) {
        h.releasing = true;
        this.controls.send({ op: 'unhold', lwg: g });
      }
    }
    if (this.waiters.has('*') && this.keeps(undefined)) this.resolve('*');
  }

  private complete(g: number, h: Held): void {
    h.phase = 'complete';
    delete h.load;
    // The group's copy covers its topics: wants still loading are kept from here, by the group.
    this.kept.activate(g, ['loading']);
    this.resolveKept(g);
  }

  /** Answers the waiters of what is kept now, of group `g`. */
  private resolveKept(g: number): void {
    for (const topic of this.waiters.names()) if (topic !== '*' && this.lwgOf(topic) === g && this.keeps(topic)) this.resolve(topic);
    if (this.waiters.has('*') && this.keeps(undefined)) this.resolve('*');
  }

  private want(topic: string): void {
    const n = ++this.tag;
    this.kept.wanted.set(topic, { phase: 'asked', n });
    this.controls.send({ op: 'want', lwg: this.lwgOf(topic), topic, n });
  }

  private resolve(topic: string): void {
    const any = this.waiters.resolve(topic);
    // Loaded for a subscribe whose subscriber has gone meanwhile: let it go again.
    if (topic !== '*' && any && !this.host.isPinned(topic)) this.unpin(topic);
    if (topic === '*') this.reconcile();
  }

  private allGroups(): number[] {
    return Array.from({ length: this.table.config.lwgCount }, (_, g) => g);
  }

  /**
   * A new incarnation (after an exclusion): nothing is kept, nothing is owed — but the complete
   * copies the old incarnation (`was`) served are put aside: a group whose every copy left with
   * this broker waits for one of them.
   */
  reset(was: MemberId): void {
    this.waits.keepCopies(was);
    this.claims.reset();
    this.kept.clear();
    this.controls.reset();
    this.transfers.clear();
    this.waiters.failAll({ ok: false, code: ErrorCode.NotReady, message: 'this broker left the group; subscribe again' });
    this.topicTable.restore({ topics: [], dedup: [] });
  }

}
