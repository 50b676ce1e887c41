/**
 * One member of the core group: a deterministic state machine. Inputs are
 * method calls (`receive`, `tick`, `found`, `join`, `leave`, `multicast`,
 * `stateReady`); outputs are the actions `drain()` returns, in order. No
 * timers, clocks, randomness, sockets or promises: time is the count of
 * `tick()` calls, so the same inputs give the same outputs.
 *
 * This file is the glue: inputs, the dispatch of peer messages, views. The
 * parts are named for their concern (data-path, channel, ordering, outgoing, deliverer,
 * sequencer, audience, failure-detector, flush, participant, joins, notices, wire);
 * docs/core.md tells the whole story.
 */
import type { Action } from './actions.js';
import { coreConfigDefault, type CoreConfig } from './config.js';
import { ViewChannel } from './channel.js';
import { FlushCoordinator, type CoordinatorHost } from './flush.js';
import type { LogEntry, MemberId, MessageKey, ViewRecord } from './log.js';
import { Wire } from './wire.js';
import type { MemberOptions, MulticastOptions } from './options.js';
import { describeMember } from './describe.js';
import type { DataMessage, Install, OrderRequest, PeerMessage, WireMessage } from './messages.js';
import { ViewOrdering } from './ordering.js';
import { Outgoing } from './outgoing.js';
import { FlushParticipant } from './participant.js';
import { Notices } from './notices.js';
import { Deliverer } from './deliverer.js';
import { AbcastLanes } from './sequencer.js';
import { FailureDetector } from './failure-detector.js';
import { unreachable } from './assert.js';
import { StreamTakeovers } from './takeovers.js';
import { isPrimarySuccessor, noPrimaryAhead, sequencerOf } from './view.js';
import { StreamAudiences, copyFor } from './audience.js';
import { CoreFigures } from './figures.js';
import { Heartbeats } from './heartbeats.js';
import { Joins } from './joins.js';
import { DataPath } from './data-path.js';

type Status = 'idle' | 'joining' | 'member' | 'stopped';

export class Member implements CoordinatorHost {
  readonly id: MemberId;
  readonly config: CoreConfig;
  now = 0;
  status: Status = 'idle';
  view: ViewRecord | undefined;
  /** Peer messages dropped because they were malformed (counted, never thrown). */
  get malformedTotal(): number {
    return this.wire.malformedTotal;
  }
  /** Peer messages from an older view, answered (install again, or excluded) and otherwise dropped. */
  staleTotal = 0;

  private readonly onLog: (entry: LogEntry) => void;
  private readonly wire = new Wire();
  channel = new ViewChannel([], '');
  ordering = new ViewOrdering([]);
  readonly detector: FailureDetector;
  readonly leaving = new Set<MemberId>();
  private readonly heartbeats = new Heartbeats(this);

  readonly outgoing = new Outgoing(this);
  readonly deliverer = new Deliverer(this);
  readonly lanes: AbcastLanes;
  readonly audiences = new StreamAudiences();
  private readonly placeSequencer: MemberOptions['sequencerOf'];
  private readonly takeovers = new StreamTakeovers(this);
  private readonly data = new DataPath(this, { heartbeats: this.heartbeats, takeovers: this.takeovers });

  readonly coordinator: FlushCoordinator;
  private readonly joins = new Joins(this);
  /** At the coordinator: joiners for the next view change (joins.ts). */
  get pendingJoins(): ReadonlySet<MemberId> {
    return this.joins.pending;
  }
  readonly groupRequests = new Map<MessageKey, OrderRequest>();
  attemptLast = 0;

  readonly participant = new FlushParticipant(this);
  /** Delivering nothing new in this view (a flush runs, or no primary is reachable). */
  get frozen(): boolean {
    return this.participant.frozen;
  }

  nonPrimary = false;
  private nonPrimarySince = 0;
  /** The highest view id this process saw: installed, in any message, or said by a joiner (`found`). */
  viewSeen: number;
  private blocked = false;
  private readonly notices = new Notices(this);
  private readonly sizeOf: MemberOptions['sizeOf'];
  /** Counts for operators (figures.ts). */
  readonly figures: CoreFigures;

  constructor(options: MemberOptions) {
    this.id = options.id;
    this.config = { ...coreConfigDefault, ...options.config };
    this.onLog = options.onLog ?? (() => {});
    this.coordinator = new FlushCoordinator(this);
    this.lanes = new AbcastLanes(this.config.windowMax);
    this.detector = new FailureDetector(this.config.suspectTicks);
    this.placeSequencer = options.sequencerOf;
    this.sizeOf = options.sizeOf;
    this.figures = options.figures ?? new CoreFigures();
    this.viewSeen = options.viewSeen ?? 0;
  }

  /**
   * Founds a new group alone (only a designated seed should, and only when no group answers).
   * `viewId` lets a group founded again after a total loss continue above the old ids.
   */
  found(viewId = 1): void {
    if (this.status !== 'idle' && this.status !== 'joining') return;
    this.becomeMember({ id: Math.max(viewId, this.viewSeen + 1), members: [this.id], primary: true }, true);
  }

  /** Founded, or admitted by an install (joins.ts): a member from `view` on. */
  becomeMember(view: ViewRecord, founded = false): void {
    this.notices.stopJoining();
    this.status = 'member';
    this.installView(view, founded);
  }

  /** Asks to join through any of `contacts` (member ids or addresses); retried until installed. */
  join(contacts: readonly string[]): void {
    if (this.status !== 'idle') return;
    this.status = 'joining';
    this.notices.startJoining(contacts);
  }

  /** Replaces the contacts a joining member asks (e.g. seeds re-resolved through DNS). */
  setContacts(contacts: readonly string[]): void {
    this.notices.setContacts(contacts);
  }

  /** Leaves gracefully: the next view excludes this member after flushing its messages. */
  leave(): void {
    if (this.status !== 'member' || this.view === undefined) return;
    if (this.view.members.length === 1) return this.stop('left');
    this.leaving.add(this.id);
    this.notices.startLeaving();
  }

  /** Multicasts `payload`; returns its key. Waits internally while blocked or while the window is full. */
  multicast(payload: unknown, options: MulticastOptions): MessageKey {
    // A programmer error: stop rather than run on with a broken invariant.
    if (!['fifo', 'causal', 'total', 'group'].includes(options.order)) throw new Error(`assertion failed: unknown multicast order ${String(options.order)}`);
    // A take-over is always safe: a member that delivered the new sequencer's messages must find
    // the take-over before them at every survivor (takeovers.ts).
    const takeOver = options.order === 'total' && options.takeOver === true;
    return this.outgoing.add(payload, options.order, options.safe === true || takeOver, options.stream ?? 0, options.elide === true, options.audience, takeOver);
  }

  /** The application's snapshot, asked for by a `get-state` action. */
  stateReady(state: unknown): void {
    // A member stopped since it asked (in the same turn) installs nothing.
    if (this.status !== 'member') return;
    this.coordinator.stateReady(state);
  }

  tick(): void {
    this.now++;
    this.notices.tick();
    if (this.status !== 'member' || this.view === undefined) return;
    const alive = this.view.members.filter((m) => !this.isSuspected(m));
    this.figures.silentNow(this.detector.silentAmong(this.view.members, this.id, this.now));
    if (!isPrimarySuccessor(this.view.members, alive)) this.becomeNonPrimary();
    // Outside the primary for good (view.ts `noPrimaryAhead`; the mesh never gives up on a timer),
    // unless a newer view that lists this member already speaks to it: it starts over.
    const lost = () => !this.wire.keepsFuture && noPrimaryAhead(this.view!.members, this.detector.replaced, [...this.participant.preparedById.values()].map((f) => f.next.members), this.id);
    if (this.nonPrimary && (this.now - this.nonPrimarySince > this.config.isolatedTicksMax || lost())) return this.stop('excluded');
    this.heartbeats.tick();
    for (const [to, message] of this.channel.retransmissions(this.now, this.config.retransmitTicks)) {
      this.figures.retransmitted++;
      this.send(to, message);
    }
    this.outgoing.retry();
    this.participant.tick((c) => this.isSuspected(c));
    if (this.coordinatorOf() === this.id) this.coordinator.tick();
    else this.coordinator.abandon();
  }

  receive(from: MemberId, wire: WireMessage): void {
    if (this.status === 'stopped' || this.status === 'idle') return;
    for (const item of this.wire.unpack(wire)) {
      this.handle(from, item);
      if ((this.status as Status) === 'stopped') return;
    }
  }

  /** Everything asked of the runtime since the last call, sends batched per destination. */
  drain(): Action[] {
    if (this.status === 'member') this.heartbeats.endOfTurn();
    return this.wire.drain();
  }

  /** For diagnostics (the simulator prints it when a run does not converge). */
  describe = (): string => describeMember(this);

  isSuspected(member: MemberId): boolean {
    return member !== this.id && this.detector.isSuspected(member, this.now);
  }

  /** The oldest member of the view that this member neither suspects nor knows to be leaving. */
  coordinatorOf(): MemberId {
    const members = this.view?.members ?? [];
    // Leavers coordinate only when everyone is leaving (then the oldest does).
    return members.find((m) => !this.isSuspected(m) && !this.leaving.has(m)) ?? members.find((m) => !this.isSuspected(m)) ?? this.id;
  }

  send(to: MemberId, message: PeerMessage): void {
    // Elided payloads go only to their audience (audience.ts).
    const index = this.view?.members.indexOf(to) ?? -1;
    this.wire.send(to, index < 0 || this.status !== 'member' ? message : copyFor(message, index, this.sizeOf));
  }

  tellExcluded(to: MemberId): void {
    this.notices.excluded(to);
  }

  emit(action: Action): void {
    this.wire.emit(action);
  }

  block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.emit({ kind: 'block' });
  }

  becomeNonPrimary(): void {
    if (this.nonPrimary) return;
    this.nonPrimary = true;
    this.nonPrimarySince = this.now;
    this.participant.freeze();
    this.block();
    this.onLog({ kind: 'non-primary', member: this.id });
    this.emit({ kind: 'primary', primary: false });
  }

  /** Delivers the gbcasts of a view change, in the agreed order, once each. */
  deliverGroup(requests: readonly OrderRequest[]): void {
    for (const r of requests) this.groupRequests.delete(r.key);
    this.deliverer.group(requests);
  }

  installView(next: ViewRecord, founded = false): void {
    const previous = this.view?.members ?? [];
    const wasNonPrimary = this.nonPrimary;
    this.view = next;
    if (next.id > this.viewSeen) this.viewSeen = next.id;
    if (this.participant.frozen) this.figures.flushed(this.now - this.participant.frozenSince);
    this.figures.views++;
    this.channel = new ViewChannel(next.members, this.id, this.sizeOf);
    this.heartbeats.onInstall();
    this.takeovers.onInstall();
    this.ordering = new ViewOrdering(next.members, (stream) => this.sequencerOf(stream));
    this.detector.onInstall(next.members, this.now);
    for (const m of [...this.leaving]) if (!next.members.includes(m)) this.leaving.delete(m);
    this.joins.onInstall(previous, next);
    this.lanes.onInstall(next.members);
    this.audiences.onInstall(next.members);
    this.participant.reset(next, previous.length === 0);
    this.nonPrimary = false;
    this.coordinator.abandon();
    this.onLog(founded ? { kind: 'install', member: this.id, view: next, founded: true } : { kind: 'install', member: this.id, view: next });
    this.emit({
      kind: 'view',
      view: next,
      joined: next.members.filter((m) => !previous.includes(m)),
      left: previous.filter((m) => !next.members.includes(m)),
    });
    if (wasNonPrimary) this.emit({ kind: 'primary', primary: true });
    if (this.blocked) {
      this.blocked = false;
      this.emit({ kind: 'unblock' });
    }
    if (this.notices.leaving && next.members.length === 1) return this.stop('left');
    this.heartbeats.sendAll();
    this.outgoing.onInstall(next.id);
    for (const [from, message] of this.wire.takeFor(next.id)) this.handle(from, message);
  }

  private handle(from: MemberId, m: PeerMessage): void {
    // Only a member speaking from this view (or a newer one) counts as alive in it: one stuck in
    // an older view takes no part, and must be suspected so a view change can drop it.
    if (this.view === undefined || m.view >= this.view.id) this.detector.heard(from, this.now);
    else this.detector.heardAnyone(this.now);
    // Taken whatever this member's view (they change or end membership itself).
    if (m.view > this.viewSeen) this.viewSeen = m.view;
    if (m.kind === 'join') {
      if (m.seen !== undefined && m.seen > this.viewSeen) this.viewSeen = m.seen;
      return this.joins.onJoin(m.joiner);
    }
    if (m.kind === 'excluded') return this.onExcluded(m.view);
    if (m.kind === 'leave-done') return void (this.notices.leaving && this.participant.onLeaveDone(m.view));
    if (m.kind === 'install') return this.onInstall(m);
    if (this.status !== 'member' || this.view === undefined) {
      if (m.view > 0) this.wire.keepForLater(from, m, this.config.futureMax);
      return;
    }
    if (m.view > this.view.id) return this.wire.keepForLater(from, m, this.config.futureMax);
    if (m.view < this.view.id) {
      this.staleTotal++;
      // A member of an older view: its install first (a leaver left out of it takes it as done, above).
      this.participant.resendInstall(from);
      if (!this.view.members.includes(from)) this.tellExcluded(from);
      return;
    }
    if (!this.view.members.includes(from)) return;
    this.coordinator.joinerArrived(from);
    this.participant.arrived(from);
    switch (m.kind) {
      case 'data':
        return this.data.receive(m);
      case 'hb':
        this.heartbeats.onHeartbeat(from, m);
        return this.data.deliverAndCollect();
      case 'order-request':
        // Only an origin hands on its own requests (outgoing.ts): one in another member's name (a
        // take-over for a member that does not exist, a key that would shadow another's) is refused.
        if (m.origin !== from || m.key !== `${from}/${m.originSeq}`) return;
        return this.data.onOrderRequest(m);
      case 'leave':
        this.leaving.add(from);
        return;
      case 'flush-start':
        return this.participant.onFlushStart(from, m);
      case 'flush-state':
        return this.coordinator.onState(from, m);
      case 'flush-final':
        return this.participant.onFinal(from, m);
      case 'flush-done':
        return this.coordinator.onDone(from, m);
      default:
        return unreachable(m, 'peer message');
    }
  }

  /** A delivery of the flush's (participant.ts); data-path.ts. */
  deliverData(m: DataMessage): void {
    this.data.deliver(m);
  }

  /** The stream's sequencer now: where the view places it, or where a take-over moved it. */
  sequencerOf(stream: number): MemberId {
    return this.takeovers.sequencerOf(stream);
  }

  /** Where this view places the stream's sequencer (takeovers.ts keeps it for the view). */
  placeOf(stream: number): MemberId {
    return this.placeSequencer?.(stream, this.view!.members) ?? sequencerOf(this.view!, stream);
  }

  /** A payload's size in bytes, as `MemberOptions.sizeOf` counts it (0 without one). */
  payloadBytes(payload: unknown): number {
    return this.sizeOf?.(payload) ?? 0;
  }

  /** May this member send multicasts now (a member, not blocked, not frozen)? */
  canSend(): boolean {
    return this.status === 'member' && this.view !== undefined && !this.blocked && !this.frozen;
  }

  log(entry: LogEntry): void {
    this.onLog(entry);
  }

  /** An own order request (outgoing.ts) or one handed on after a take-over (takeovers.ts); data-path.ts. */
  onOrderRequest(r: OrderRequest): void {
    this.data.onOrderRequest(r);
  }

  private onInstall(m: Install): void {
    // A leaver whose `leave-done` was lost hears of the view it left from a member of it.
    if (!m.next.members.includes(this.id)) return void (this.status === 'member' && this.notices.leaving && this.participant.onLeftOut(m));
    if (this.status === 'joining') return this.joins.takeInstall(m);
    if (this.status === 'member') this.participant.onInstall(m);
  }

  private onExcluded(view: number): void {
    // A joiner whose id already left a view (joins.ts): it starts again under a new one.
    if (this.status === 'joining') return this.stop('excluded');
    if (this.status !== 'member' || this.view === undefined || view <= this.view.id) return;
    this.stop(this.notices.leaving ? 'left' : 'excluded');
  }

  stop(reason: 'excluded' | 'left'): void {
    this.status = 'stopped';
    this.notices.stopJoining();
    // The log has one word for leaving the group, by exclusion or by choice.
    this.onLog({ kind: 'excluded', member: this.id });
    this.emit({ kind: 'stopped', reason });
  }

  /** Multicasts on this member's channel of the current view (outgoing.ts); data-path.ts. */
  multicastData(fields: Omit<DataMessage, 'kind' | 'view' | 'sender' | 'seq'>): void {
    this.data.multicast(fields);
  }

  isMember(id: MemberId): boolean {
    return this.view?.members.includes(id) === true;
  }

  isOlder(a: MemberId, b: MemberId): boolean {
    const members = this.view?.members ?? [];
    return members.indexOf(a) < members.indexOf(b);
  }
}
