/**
 * A member's side of view changes (the coordinator's is flush.ts): freeze and
 * report when a round starts, hold the agreed cut when its final comes, deliver
 * it once every participant holds it (`commit`: at the install), and install
 * the next view — or, having missed an install, take it from any member of the
 * new view if it matches a final it holds.
 *
 * Scenario (1): a coordinator dies in phase 2 after some members received its
 * final. They report it as `prepared`; the next coordinator adopts that final
 * as it is, so no member that moves on delivers a different set.
 * Scenario (2): it dies in phase 3 after some members installed. Every member
 * keeps the install of its view and sends it again to a member of an older
 * view; a member of that view installs it if it matches a final it holds (same
 * id and members), and otherwise starts over; a leaver left out of it takes it
 * as done (`onLeftOut`).
 */
import type { MemberBasics } from './host.js';
import { sameCut } from './cut.js';
import { stubOf } from './audience.js';
import { assert } from './assert.js';
import type { FlushCoordinator } from './flush.js';
import type { MemberId, ViewRecord } from './log.js';
import type { DataMessage, FlushDone, FlushFinal, FlushStart, FlushState, Install, OrderRequest, PeerMessage } from './messages.js';

export interface ParticipantHost extends MemberBasics {
  readonly coordinator: FlushCoordinator;
  attemptLast: number;
  coordinatorOf(): MemberId;
  isOlder(a: MemberId, b: MemberId): boolean;
  block(): void;
  send(to: MemberId, message: PeerMessage): void;
  /** Own gbcasts still waiting are reported in a flush. */
  readonly outgoing: { groupRequests(): OrderRequest[] };
  deliverData(m: DataMessage): void;
  deliverGroup(requests: readonly OrderRequest[]): void;
  installView(next: ViewRecord): void;
  stop(reason: 'excluded' | 'left'): void;
}

export class FlushParticipant {
  /** Delivering nothing new in this view: a round is under way, or no primary is reachable. */
  frozen = false;
  /** When this member last froze (for the flush's length). */
  frozenSince = 0;
  /** The round this member last reported to. */
  following: { coordinator: MemberId; attempt: number } | undefined;
  /** The last final held in this view (reported for adoption) … */
  prepared: { final: FlushFinal; coordinator: MemberId } | undefined;
  /** … and every final held in this view, by proposed view id. */
  readonly preparedById = new Map<number, FlushFinal>();
  /** Highest view id seen proposed or installed anywhere (reported so the next proposal is higher). */
  maxViewSeen = 0;
  /**
   * Acks stop moving once a member freezes in a view: a member that is not
   * frozen counts a safe message stable only if every member had it before
   * freezing — so it is within every round's targets, adopted ones included,
   * and every survivor delivers it (O5).
   */
  frozenAcks: Record<MemberId, number> | undefined;
  /** `coordinator/attempt` of every round this member reported to in this view. */
  private readonly reportedTo = new Set<string>();
  /** The install that brought this member into its view, to hand to stragglers. */
  private installRecord: Install | undefined;
  /** The last final delivered (`commit`) … */
  private committed: FlushFinal | undefined;
  /**
   * … and, once its view is installed, kept to hand with the install to a member of the old view
   * that never held it (`onInstall`), until every member of the view has spoken from it.
   */
  private installFinal: { final: FlushFinal; waiting: Set<MemberId> } | undefined;
  private readonly installResentAt = new Map<MemberId, number>();
  /** The last answer sent to a round (a report or `done`), sent again until the round ends (`tick`). */
  private answer: { coordinator: MemberId; message: FlushState | FlushDone; at: number } | undefined;

  constructor(private readonly host: ParticipantHost) {}

  /** Stops delivering in this view (a round starts, or no primary is reachable). */
  freeze(): void {
    if (!this.frozen) this.frozenSince = this.host.now;
    this.frozenAcks ??= this.host.channel.ackVector();
    this.frozen = true;
  }

  /** Frozen with no round to finish it (none, or one whose coordinator is no longer ours): the coordinator should start one. */
  get wantsFlush(): boolean {
    const coordinator = this.host.coordinatorOf();
    return this.frozen && coordinator !== this.host.id && (this.following === undefined || this.following.coordinator !== coordinator);
  }

  /**
   * Every tick: forgets a round whose coordinator is gone (the member stays frozen), and otherwise
   * sends its last answer to the round again — its report, or `done` once it delivered the final —
   * every retransmit period. The coordinator sends its own message again too, but a round trip
   * lost several times in a row would have this member taken for one that never answers (and
   * excluded, with what it holds): answering from both ends makes that vanishingly rare.
   */
  tick(gone: (coordinator: MemberId) => boolean): void {
    const h = this.host;
    const following = this.following;
    if (following === undefined) return;
    if (gone(following.coordinator)) {
      this.following = undefined;
      return;
    }
    const answer = this.answer;
    if (answer === undefined || following.coordinator === h.id || h.now - answer.at < h.config.retransmitTicks) return;
    if (answer.coordinator !== following.coordinator || answer.message.attempt !== following.attempt) return;
    answer.at = h.now;
    h.send(answer.coordinator, answer.message);
  }

  /** Collect: freeze and report. */
  onFlushStart(from: MemberId, start: FlushStart): void {
    const h = this.host;
    const coordinator = h.coordinatorOf();
    if (from !== coordinator && !h.isOlder(from, coordinator)) return;
    if (from !== h.id && h.isOlder(from, h.id)) h.coordinator.abandon();
    h.attemptLast = Math.max(h.attemptLast, start.attempt);
    this.following = { coordinator: from, attempt: start.attempt };
    this.reportedTo.add(`${from}/${start.attempt}`);
    this.freeze();
    h.block();
    const report = {
      kind: 'flush-state' as const,
      view: h.view!.id,
      attempt: start.attempt,
      received: h.channel.ackVector(),
      delivered: Object.fromEntries(h.ordering.deliveredUpTo),
      maxViewSeen: this.maxViewSeen,
      held: h.channel.allHeld(),
      groupRequests: h.outgoing.groupRequests(),
      ...(this.prepared === undefined ? {} : { prepared: { ...this.prepared.final, union: [] }, preparedBy: this.prepared.coordinator }),
    };
    if (from === h.id) h.coordinator.onState(h.id, report);
    else {
      this.answer = { coordinator: from, message: report, at: h.now };
      h.send(from, report);
    }
  }

  /**
   * Final: hold the agreed cut of the old view (its union), then say done. It is delivered once
   * every participant holds it (`commit`): at the install, or at the coordinator once all are done.
   */
  onFinal(from: MemberId, final: FlushFinal): void {
    const h = this.host;
    // Any round this member reported to may finish, if its coordinator is still the one it
    // follows or its coordinator now: frozen since the report, it delivered nothing the
    // report does not cover. Once a final is held, only the same cut is accepted again.
    if (!this.reportedTo.has(`${from}/${final.attempt}`)) return;
    if (from !== this.following?.coordinator && from !== h.coordinatorOf()) return;
    if (this.prepared !== undefined && !sameCut(this.prepared.final, final)) return;
    this.following = { coordinator: from, attempt: final.attempt };
    if (this.prepared === undefined || this.prepared.final.attempt !== final.attempt || this.prepared.coordinator !== from) {
      for (const message of final.union) for (const ready of h.channel.receive(message)) h.ordering.push(ready);
      this.prepared = { final, coordinator: from };
      this.preparedById.set(final.next.id, final);
      this.maxViewSeen = Math.max(this.maxViewSeen, final.next.id);
    }
    const done = { kind: 'flush-done' as const, view: h.view!.id, attempt: final.attempt };
    if (from === h.id) h.coordinator.onDone(h.id, done);
    else {
      this.answer = { coordinator: from, message: done, at: h.now };
      h.send(from, done);
    }
  }

  /**
   * Delivers a final this member holds — exactly its cut; safe messages no longer wait — once
   * every participant of its round holds it: the coordinator installs (or tells a leaver it is
   * done) only then, and delivers its own copy only then. A final delivered on its arrival could be
   * lost with the members that had it: a coordinator that sent it and was paused or cut off before
   * anyone received it delivered safe messages that only it and their stopped sender held, while
   * the others, with no one to report that final, moved on without them (O5; the simulator found
   * it). Held by every participant — a majority of the view — it is reported by some member of
   * every later round, which adopts it. Calling it again delivers nothing more.
   */
  commit(final: FlushFinal): void {
    const h = this.host;
    this.committed = final;
    const stubbed = new Set(final.stubbed);
    const agreed = (m: DataMessage): DataMessage => (m.stub !== true && stubbed.has(`${m.sender}/${m.seq}`) ? stubOf(m) : m);
    h.ordering.deliverReady((s) => h.channel.stableOf(s), true, (m) => h.deliverData(agreed(m)), (s) => final.targets[s] ?? 0);
  }

  /**
   * This leaving member is told it is done: the final it holds for the view it leaves was
   * committed (every participant holds it), so it delivers that cut, and stops.
   */
  onLeaveDone(view: number): void {
    if (this.prepared !== undefined && view === this.host.view?.id) this.commit(this.prepared.final);
    this.host.stop('left');
  }

  /**
   * An install of a view this leaving member is not in (its `leave-done` was lost): if it holds
   * that view's final (same id and members), the final was committed — an install goes out only
   * once every participant holds it — and it is done, as `leave-done` would have had it.
   */
  onLeftOut(m: Install): void {
    const final = this.preparedById.get(m.next.id);
    if (final === undefined || !sameMembers(final.next.members, m.next.members)) return;
    this.commit(final);
    this.host.stop('left');
  }

  /** An install for a member already in a view (scenario 2). */
  onInstall(m: Install): void {
    const h = this.host;
    if (h.view === undefined || m.next.id <= h.view.id) return;
    const final = this.preparedById.get(m.next.id) ?? this.takeLate(m);
    if (final === undefined) {
      // Listed in a view whose final it never held (a coordinator adopted a final this member had
      // no part in). An install without the final is passed over while this member may still
      // take it: the members of the new view send the install again, the final with it, while
      // this member speaks from the old view — and if none can, they suspect this member (it is
      // silent in their view) and exclude it. One that cannot take the final starts over.
      if (m.final === undefined && this.prepared === undefined) return;
      h.stop('excluded');
      return;
    }
    if (!sameMembers(final.next.members, m.next.members)) return;
    this.commit(final);
    h.deliverGroup(final.group);
    h.installView(final.next);
  }

  /**
   * The final an install carries for a member that took no part in its round (flush.ts
   * `installMessage`), taken now if this member is still where the round's participants were when
   * they took it: holding no other final, having delivered and sent nothing past its cut, and
   * holding every message up to it once its union is in. Its holders then include this member,
   * which cannot change the choice — a final's holders only grow — and it delivers exactly the cut
   * the others delivered. Otherwise it holds nothing, and starts over (above). A member listed in
   * a final reported to the round that computed it and stayed frozen since, so the first two
   * conditions hold today whenever it holds no other final (a mutation removing the check of its
   * deliveries survived every run); they are checked all the same, the argument rests on them.
   */
  private takeLate(m: Install): FlushFinal | undefined {
    const h = this.host;
    const final = m.final;
    if (final === undefined || this.prepared !== undefined || final.next.id !== m.next.id || !sameMembers(final.next.members, m.next.members)) return undefined;
    const target = (s: MemberId): number => final.targets[s] ?? 0;
    for (const [sender, upTo] of h.ordering.deliveredUpTo) if (upTo > target(sender)) return undefined;
    // Payloads and stubs must agree with what the round's participants deliver (A1): a message the
    // final makes a stub for everyone, which this member may have delivered with its payload; or one
    // of this member's own, or in its audience, that the union carries as a stub — the participants
    // lacked its payload, and this member would deliver it otherwise than one of them, or than
    // another member of its audience. (The union a member of the new view sends again was cut to
    // its own audience: only the coordinator's is whole.) In either case it starts over instead.
    const me = h.view!.members.indexOf(h.id);
    const stubbed = new Set(final.stubbed);
    for (const id of stubbed) {
      const slash = id.lastIndexOf('/');
      if ((h.ordering.deliveredUpTo.get(id.slice(0, slash)) ?? 0) >= Number(id.slice(slash + 1))) return undefined;
    }
    for (const message of final.union) {
      if (message.stub === true && !stubbed.has(`${message.sender}/${message.seq}`) && (message.origin === h.id || message.audience?.includes(me) === true)) return undefined;
    }
    if ((h.channel.received.get(h.id) ?? 0) > target(h.id)) return undefined;
    for (const message of final.union) for (const ready of h.channel.receive(message)) h.ordering.push(ready);
    for (const sender of h.view!.members) if ((h.channel.received.get(sender) ?? 0) < target(sender)) return undefined;
    return final;
  }

  /** A member of this view still speaks from the one before: it missed the install. */
  resendInstall(to: MemberId): void {
    const h = this.host;
    if (this.installRecord === undefined || this.installRecord.view === 0) return;
    if (h.now - (this.installResentAt.get(to) ?? -Infinity) < h.config.retransmitTicks) return;
    this.installResentAt.set(to, h.now);
    const final = this.installFinal?.final;
    h.send(to, final === undefined ? this.installRecord : { ...this.installRecord, final });
  }

  /** A member spoke from this view: it has its install (and needs no final with it). */
  arrived(member: MemberId): void {
    const kept = this.installFinal;
    if (kept === undefined || !kept.waiting.delete(member) || kept.waiting.size > 0) return;
    this.installFinal = undefined;
  }

  /** A view was installed: every round of the old one is over. */
  reset(next: ViewRecord, first: boolean): void {
    assert(next.members.includes(this.host.id), 'an installed view contains the member installing it');
    assert(this.installRecord === undefined || next.id > this.installRecord.next.id, 'view ids increase');
    this.following = undefined;
    this.frozen = false;
    this.frozenAcks = undefined;
    this.prepared = undefined;
    this.preparedById.clear();
    this.reportedTo.clear();
    this.answer = undefined;
    this.maxViewSeen = Math.max(this.maxViewSeen, next.id);
    this.installRecord = { kind: 'install', view: first ? 0 : next.id - 1, next };
    this.installResentAt.clear();
    const final = this.committed;
    this.committed = undefined;
    this.installFinal = final?.next.id === next.id ? { final, waiting: new Set(next.members.filter((m) => m !== this.host.id)) } : undefined;
  }
}

function sameMembers(a: readonly MemberId[], b: readonly MemberId[]): boolean {
  return a.length === b.length && a.every((m, i) => m === b[i]);
}
