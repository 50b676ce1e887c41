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
 */
import type { CoreConfig } from './config.js';
import type { ViewChannel } from './channel.js';
import type { FailureDetector } from './failure-detector.js';
import type { CoreFigures } from './figures.js';
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
  readonly figures: CoreFigures;
  send(to: MemberId, message: PeerMessage): void;
}

export class Heartbeats {
  private lastAt = -Infinity;
  private lastAckAt = -Infinity;
  /** Something to acknowledge or announce since the last round. */
  private dirty = false;
  /** Senders whose messages arrived since the last acknowledgement. */
  private readonly ackTo = new Set<MemberId>();
  /** This member's own stability as last announced to all. */
  private announced = 0;

  constructor(private readonly h: HeartbeatHost) {}

  /** A data message of `sender` arrived. */
  received(sender: MemberId): void {
    if (sender !== this.h.id) this.ackTo.add(sender);
    this.dirty = true;
  }

  /** Acks arrived: if this member's own stability moved, it is announced at the next round. */
  acksArrived(): void {
    if (this.h.channel.stableOf(this.h.id) > this.announced) this.dirty = true;
  }

  tick(): void {
    if (this.h.now - this.lastAt >= this.h.config.heartbeatTicks) this.sendAll();
    else if (this.dirty && this.h.now - this.lastAckAt >= this.h.config.ackTicks) this.sendAcks();
  }

  /**
   * The end of a turn: with `ackTicks` 0, what arrived in it is acknowledged now, in the batch with
   * the rest — once per tick at most: under load turns are many and short, and an ack round each
   * would cost more than it saves (the tick sends what came after).
   */
  endOfTurn(): void {
    if (this.dirty && this.h.config.ackTicks === 0 && this.lastAckAt < this.h.now) this.sendAcks();
  }

  /** A new view: a new channel, nothing acknowledged or announced in it yet. */
  onInstall(): void {
    this.ackTo.clear();
    this.announced = 0;
  }

  sendAll(): void {
    const view = this.h.view;
    if (view === undefined) return;
    this.lastAt = this.lastAckAt = this.h.now;
    this.dirty = false;
    this.ackTo.clear();
    const hb = this.build(view);
    this.announced = hb.stable ?? 0;
    for (const m of view.members) if (m !== this.h.id) this.h.send(m, hb);
  }

  private sendAcks(): void {
    const view = this.h.view;
    if (view === undefined) return;
    if (view.members.length <= this.h.config.ackAllMax || this.h.channel.stableOf(this.h.id) > this.announced) return this.sendAll();
    const hb = this.build(view);
    for (const m of this.ackTo) if (view.members.includes(m)) this.h.send(m, hb);
    this.ackTo.clear();
    this.dirty = false;
    this.lastAckAt = this.h.now;
  }

  private build(view: ViewRecord): Heartbeat {
    const h = this.h;
    const frozen = h.participant.frozenAcks;
    const hb: Heartbeat = { kind: 'hb', view: view.id, acks: frozen === undefined ? h.channel.ackList() : view.members.map((m) => frozen[m] ?? 0) };
    const stable = h.channel.stableOf(h.id);
    if (stable > 0) hb.stable = stable;
    if (h.participant.wantsFlush) hb.flushWanted = true;
    const suspects = h.detector.silentAmong(view.members, h.id, h.now);
    if (suspects.length > 0) hb.suspects = suspects;
    h.figures.silentNow(suspects);
    return hb;
  }
}
