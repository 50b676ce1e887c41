/**
 * When and to whom a member sends heartbeats, which carry its acknowledgements. Acknowledging
 * costs O(n) messages per multicast, not O(n²): a member acknowledges only to the senders whose
 * messages it received (every `ackTicks`, or at the end of the turn with `ackTicks` 0), and a
 * sender whose own stability moved announces it to all (`stable`), so the others learn it second
 * hand (channel.ts `onStable`) — JGroups' STABLE and Spread's token in spirit: stability is
 * learnt in one place and spread from there. Every `heartbeatTicks` the heartbeat still goes to
 * every member (liveness), with the same content. A view of at most `ackAllMax` members (the
 * mesh's usual three) acknowledges to every member instead: about as few messages, and stability
 * learnt one hop sooner.
 *
 * In a view of more than `heartbeatAllMax` members the periodic heartbeats travel in a star, O(n)
 * per interval instead of O(n²) (the gossip-free shape of JGroups' FD_ALL2 over a coordinator):
 * - every member heartbeats its coordinator (and any older member it suspects: its complaints
 *   must reach them, failure-detector.ts), the coordinator heartbeats everyone, and its heartbeat
 *   vouches for every member it does not suspect — they count as heard (`vouch`);
 * - a member that has not heard its coordinator for a quarter of a suspicion timeout is `lost`:
 *   it heartbeats everyone, asking for an answer (`reply`, sent at once, with the acks), so that
 *   by the time the coordinator would be suspected it has heard from every live member first
 *   hand, and a member that takes over as coordinator does not take the others for silent. A
 *   quarter, not a half: a member that hears nobody for half a timeout takes itself for the one
 *   cut off and gives everyone — the dead coordinator too — a fresh window (failure-detector.ts);
 *   the answers must come before that (the whole-broker simulator found the coordinator's crash
 *   detected a timeout late by members no data reached);
 * - a member holding a sender's messages whose stability has not moved since its last heartbeat
 *   asks that sender directly (`reply`) — its announcement may have been lost;
 * - members the coordinator's heartbeat does not vouch for are asked directly (`reply`): a
 *   coordinator that cannot hear them, or anyone, must not make the others suspect each other;
 * - a cut link between two members that no longer heartbeat each other shows as a sender's
 *   messages left unacknowledged by one member for a suspicion timeout and three resends
 *   (channel.ts `stalled`), or as an own abcast its sequencer has not sequenced for a suspicion
 *   timeout (outgoing.ts `unsequenced`: the link to the sequencer is cut one way), reported to
 *   the coordinator like a silent member.
 */
import type { CoreConfig } from './config.js';
import type { ViewChannel } from './channel.js';
import type { FailureDetector } from './failure-detector.js';
import type { MemberId, ViewRecord } from './log.js';
import type { Heartbeat, PeerMessage } from './messages.js';

export interface HeartbeatHost {
  readonly id: MemberId;
  readonly now: number;
  readonly config: CoreConfig;
  readonly view: ViewRecord | undefined;
  readonly channel: ViewChannel;
  readonly participant: { readonly frozenAcks: Record<MemberId, number> | undefined; readonly wantsFlush: boolean };
  readonly detector: FailureDetector;
  /** The flush coordinator's side: asked for a view change, and the members of the one it runs. */
  readonly coordinator: { wanted: boolean; readonly participants: readonly MemberId[] | undefined };
  coordinatorOf(): MemberId;
  /** Own abcasts and gbcasts on their way (outgoing.ts): which sequencers have not sequenced one. */
  readonly outgoing: { unsequenced(ticks: number): MemberId[] };
  send(to: MemberId, message: PeerMessage): void;
}

export class Heartbeats {
  private lastAt = -Infinity;
  private lastAckAt = -Infinity;
  /** Rounds sent within the tick `lastAckAt` (`endOfTurn`). */
  private roundsInTick = 0;
  /** Something to acknowledge or announce since the last round. */
  private dirty = false;
  /**
   * Bytes the others wait on, since the last round (`endOfTurn`): other members' data received (or
   * stood for by stubs), and this member's own data that became stable (when it announces).
   */
  private bytesSinceAck = 0;
  /** Senders whose messages arrived since the last acknowledgement. */
  private readonly ackTo = new Set<MemberId>();
  /** This member's own stability as last announced to all. */
  private announced = 0;
  /** This member's own stability up to which the bytes that became stable were counted (`acksArrived`). */
  private stableCounted = 0;
  /** Star: members that asked for an answer since the last periodic heartbeat. */
  private readonly replyTo = new Set<MemberId>();
  /** Star: each sender's stability as seen at the last periodic heartbeat. */
  private readonly stableSeen = new Map<MemberId, number>();
  /** Star: members the coordinator's last heartbeat did not vouch for, asked directly. */
  private direct: readonly MemberId[] = [];

  constructor(private readonly h: HeartbeatHost) {}

  /** A data message of `sender` arrived, with `bytes` of payload, or standing for them (channel.ts `takeArrived`). */
  received(sender: MemberId, bytes = 0): void {
    if (sender !== this.h.id) {
      this.ackTo.add(sender);
      this.bytesSinceAck += bytes;
    }
    this.dirty = true;
  }

  /**
   * Acks arrived: if this member's own stability moved, it is announced at the next round — in a
   * view that acknowledges to all, nobody needs the announcement (each member hears every ack).
   */
  private acksArrived(): void {
    if (this.allAck()) return;
    const stable = this.h.channel.stableOf(this.h.id);
    if (stable > this.announced) this.dirty = true;
    // The others deliver these safely once they hear it: bytes that became stable are worth a
    // prompt round as much as bytes that arrived (`endOfTurn`).
    if (stable > this.stableCounted) {
      this.bytesSinceAck += this.h.channel.heldBytesOf(this.h.id, this.stableCounted, stable);
      this.stableCounted = stable;
    }
  }

  /** Views of at most `ackAllMax` members acknowledge to every member (see the header). */
  private allAck(): boolean {
    return (this.h.view?.members.length ?? 0) <= this.h.config.ackAllMax;
  }

  /**
   * A heartbeat of this view arrived: its acks and the sender's announced stability are taken; it
   * is answered at once if it asks; in a star, the coordinator's vouches, and those it does not
   * vouch for asked directly — a coordinator that cannot hear them (or anyone) must not make the
   * members suspect each other; then its wish for a flush and its suspicions.
   */
  onHeartbeat(from: MemberId, hb: Heartbeat): void {
    const h = this.h;
    if (h.view === undefined) return;
    h.channel.onAcks(from, hb.acks, h.now);
    if (hb.stable !== undefined) h.channel.onStable(from, hb.stable);
    this.acksArrived();
    if (hb.reply === true) {
      this.replyTo.add(from);
      this.dirty = true;
    }
    if (this.star() && from === h.coordinatorOf()) {
      h.detector.vouch(h.view.members, hb.suspects, h.id, h.now);
      this.direct = hb.suspects ?? [];
    }
    const coordinating = h.coordinatorOf() === h.id;
    if (hb.flushWanted === true && coordinating) h.coordinator.wanted = true;
    h.detector.onSuspects(from, hb.suspects, h.id, coordinating, h.coordinator.participants ?? h.view.members, h.now);
  }

  /** Periodic heartbeats go in a star (see the header). */
  star(): boolean {
    return (this.h.view?.members.length ?? 0) > this.h.config.heartbeatAllMax;
  }

  tick(): void {
    if (this.h.now - this.lastAt >= this.h.config.heartbeatTicks) this.periodic();
    else if (this.dirty && this.h.now - this.lastAckAt >= this.h.config.ackTicks) this.sendAcks();
  }

  /**
   * The end of a turn: with `ackTicks` 0, what arrived in it is acknowledged now, in the batch with
   * the rest — while fewer than `ackRoundsPerTick` rounds went in this tick (every round counts,
   * the tick's own too; past the first, only for what others sent: a member's own data is its
   * ack already; one round a tick in a view that announces), or again within the tick once
   * `ackBytes` of data arrived (or of its own became stable, to announce) since the last round.
   * The others wait for the acks to deliver safely, so a round a turn keeps a publish's path short
   * when traffic is light (a three-broker mesh's publish at 500 a second waited 8.6–9.5 ms for
   * acks that went once a tick); the count bounds what many short turns of a few small messages
   * cost under load, where data in bulk still earns its prompt round. A view that announces pays
   * a round to every member and its announcements too: there more rounds cost more latency than
   * they saved, on a loaded machine (docs/mesh.md, "Acknowledgements").
   */
  endOfTurn(): void {
    if (!this.dirty || this.h.config.ackTicks !== 0) return;
    const rounds = this.roundsThisTick();
    const budget = this.allAck() ? this.h.config.ackRoundsPerTick : 1;
    // The tick's first round goes for anything owed, as it always did; further ones only for
    // others' data or a question — a turn that only multicast must not spend them.
    const owed = rounds === 0 || this.ackTo.size > 0 || this.replyTo.size > 0;
    if ((rounds < budget && owed) || this.bytesSinceAck >= this.h.config.ackBytes) this.sendAcks();
  }

  /** Rounds sent in the current tick. */
  private roundsThisTick(): number {
    return this.lastAckAt < this.h.now ? 0 : this.roundsInTick;
  }

  /** A new view: a new channel, nothing acknowledged or announced in it yet. */
  onInstall(): void {
    this.ackTo.clear();
    this.bytesSinceAck = 0;
    this.announced = 0;
    this.stableCounted = 0;
    this.replyTo.clear();
    this.stableSeen.clear();
    this.direct = [];
  }

  /** The heartbeat every `heartbeatTicks`: to all, or in a star (see the header). */
  private periodic(): void {
    const h = this.h;
    const view = h.view;
    if (view === undefined) return;
    if (!this.star()) return this.sendAll();
    const coordinator = h.coordinatorOf();
    const lost = coordinator !== h.id && h.detector.lost(coordinator, h.now);
    if (coordinator === h.id || lost) return this.sendAll(lost);
    const to = new Set(this.replyTo);
    // The coordinator, and the older members this one suspects (they hear its complaints).
    for (const m of view.members) {
      to.add(m);
      if (m === coordinator) break;
    }
    let ask = false;
    for (const m of this.direct) {
      if (m === h.id || !view.members.includes(m)) continue;
      to.add(m);
      ask = true;
    }
    for (const sender of view.members) {
      const seen = this.stableSeen.get(sender) ?? 0;
      // Nothing received past what was stable last time: nothing to ask (and no O(n) stableOf).
      if (sender === h.id || (h.channel.received.get(sender) ?? 0) <= seen) continue;
      const stable = h.channel.stableOf(sender);
      if (stable === seen) {
        to.add(sender);
        ask = true;
      }
      this.stableSeen.set(sender, stable);
    }
    to.delete(h.id);
    this.lastAt = h.now;
    this.roundSent();
    const hb = this.build(view);
    if (ask) hb.reply = true;
    for (const m of to) {
      this.ackTo.delete(m);
      h.send(m, hb);
    }
    // Senders whose data arrived and are not among them are acknowledged at the next round.
    if (this.ackTo.size > 0) this.dirty = true;
    // A star's heartbeat reaches few members: an announcement the others wait on goes to all now.
    if (h.channel.stableOf(h.id) > this.announced) this.sendAll();
  }

  sendAll(reply = false): void {
    const view = this.h.view;
    if (view === undefined) return;
    this.lastAt = this.h.now;
    this.roundSent();
    this.ackTo.clear();
    const hb = this.build(view);
    if (reply) hb.reply = true;
    this.announced = hb.stable ?? 0;
    for (const m of view.members) if (m !== this.h.id) this.h.send(m, hb);
  }

  private sendAcks(): void {
    const view = this.h.view;
    if (view === undefined) return;
    if (this.allAck() || this.h.channel.stableOf(this.h.id) > this.announced) return this.sendAll();
    const hb = this.build(view);
    for (const m of this.ackTo) if (view.members.includes(m)) this.h.send(m, hb);
    for (const m of this.replyTo) if (!this.ackTo.has(m) && view.members.includes(m)) this.h.send(m, hb);
    this.ackTo.clear();
    this.roundSent();
  }

  /** An ack round goes out now: nothing left to acknowledge, announce or answer but what comes next. */
  private roundSent(): void {
    this.roundsInTick = this.roundsThisTick() + 1;
    this.lastAckAt = this.h.now;
    this.dirty = false;
    this.bytesSinceAck = 0;
    this.replyTo.clear();
  }

  private build(view: ViewRecord): Heartbeat {
    const h = this.h;
    const frozen = h.participant.frozenAcks;
    const hb: Heartbeat = { kind: 'hb', view: view.id, acks: frozen === undefined ? h.channel.ackList() : view.members.map((m) => frozen[m] ?? 0) };
    const stable = h.channel.stableOf(h.id);
    if (stable > 0) hb.stable = stable;
    if (h.participant.wantsFlush) hb.flushWanted = true;
    const suspects = h.detector.silentAmong(view.members, h.id, h.now);
    // In a star no heartbeats travel between two members: a cut link shows as acks that stopped —
    // except while frozen for a flush, when acks stop by design (and the flush relays everything).
    if (this.star() && frozen === undefined) {
      for (const m of h.channel.stalled(h.now, h.config.suspectTicks, h.config.retransmitTicks)) if (!suspects.includes(m)) suspects.push(m);
      for (const m of h.outgoing.unsequenced(h.config.suspectTicks)) if (!suspects.includes(m)) suspects.push(m);
    }
    if (suspects.length > 0) hb.suspects = suspects;
    return hb;
  }
}
