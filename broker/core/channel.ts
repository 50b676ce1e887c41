/**
 * One view's reliable FIFO channels: every member numbers its multicasts in
 * the view from 1; receivers accept them in order, hold them until they are
 * stable (received by every member) and delivered, and acknowledge
 * cumulatively. Senders retransmit what some member has not acknowledged.
 * Nothing here knows about ordering flavors or views changing.
 */
import type { MemberId } from './log.js';
import type { DataMessage } from './messages.js';
import { stubOf } from './audience.js';
import { assert } from './assert.js';

export class ViewChannel {
  /** Highest contiguous seq received from each sender (own messages included). */
  readonly received = new Map<MemberId, number>();
  /** Messages received and not yet freed, per sender, by seq (out-of-order ones included). */
  readonly held = new Map<MemberId, Map<number, DataMessage>>();
  /** Each sender's stability as it announced it: sender → seq. */
  private readonly announced = new Map<MemberId, number>();
  /** Latest cumulative acks reported by each member: member → sender → seq. */
  private readonly acks = new Map<MemberId, Map<MemberId, number>>();
  /** Per member: when its ack of this channel last moved, when it was last sent messages again, and how often since. */
  private readonly progress = new Map<MemberId, { at: number; resentAt: number; backoff: number }>();
  /** When each own message was first sent. */
  private readonly sentAt = new Map<number, number>();
  private seqLast = 0;
  /** Per sender: every message up to here has been freed. */
  private readonly freedUpTo = new Map<MemberId, number>();

  private readonly myIndex: number;
  /** Payload bytes of the messages held (`sizeOf` each), for operators. */
  heldBytes = 0;
  /** Messages held. */
  heldCount = 0;
  /**
   * Payload bytes that arrived since `takeArrived`: a new message's, or for a stub the payload it
   * stands for (messages.ts `size`) — what counts towards a prompt ack (heartbeats.ts).
   */
  private arrived = 0;

  constructor(
    readonly members: readonly MemberId[],
    readonly me: MemberId,
    /** A payload's size in bytes (stubs carry `null`). */
    private readonly sizeOf: (payload: unknown) => number = () => 0,
  ) {
    this.myIndex = members.indexOf(me);
    for (const m of members) {
      this.received.set(m, 0);
      this.held.set(m, new Map());
      this.acks.set(m, new Map());
    }
  }

  /** Numbers an own message; the caller fills the rest and passes it to `receive` and the network. */
  nextSeq(): number {
    return ++this.seqLast;
  }

  markSent(seq: number, now: number): void {
    this.sentAt.set(seq, now);
  }

  /** The payload bytes that arrived since the last call (`arrived`). */
  takeArrived(): number {
    const bytes = this.arrived;
    this.arrived = 0;
    return bytes;
  }

  /**
   * Takes a data message; returns the messages that became contiguous, in
   * channel order (possibly none; duplicates and unknown senders are ignored).
   */
  receive(message: DataMessage): DataMessage[] {
    // A copy relayed in full (a flush union) to a member outside the message's audience keeps no
    // payload; a sender keeps its own in full (it retransmits them to the audience).
    if (message.audience !== undefined && message.sender !== this.me && !message.audience.includes(this.myIndex)) message = stubOf(message);
    const held = this.held.get(message.sender);
    const received = this.received.get(message.sender);
    if (held === undefined || received === undefined) return [];
    if (message.seq <= received || held.has(message.seq)) return [];
    held.set(message.seq, message);
    this.heldCount++;
    const size = this.sizeOf(message.payload);
    this.heldBytes += size;
    this.arrived += message.stub === true ? (message.size ?? 0) : size;
    // Its sender holds it, and every earlier message of its own: as good as the sender's ack, which
    // it would otherwise have to send before its own message could become stable here.
    if (message.sender !== this.me) {
      const own = this.acks.get(message.sender)!;
      if ((own.get(message.sender) ?? 0) < message.seq) own.set(message.sender, message.seq);
    }
    const ready: DataMessage[] = [];
    let next = received + 1;
    for (let m = held.get(next); m !== undefined; m = held.get(next)) {
      ready.push(m);
      next++;
    }
    assert(next - 1 >= received, 'a sender\'s contiguous seq never goes back');
    this.received.set(message.sender, next - 1);
    return ready;
  }

  /** `from`'s cumulative acks, one per member of the view in view order (a heartbeat's `acks`); another length is ignored. */
  onAcks(from: MemberId, acks: readonly number[], now = 0): void {
    const mine = this.acks.get(from);
    if (mine === undefined || acks.length !== this.members.length) return;
    const before = mine.get(this.me) ?? 0;
    for (let i = 0; i < acks.length; i++) {
      const sender = this.members[i]!;
      if (acks[i]! > (mine.get(sender) ?? 0)) mine.set(sender, acks[i]!);
    }
    if ((mine.get(this.me) ?? 0) > before) this.progress.set(from, { at: now, resentAt: -Infinity, backoff: 0 });
  }

  ackVector(): Record<MemberId, number> {
    return Object.fromEntries(this.received);
  }

  /** The same, in view order (a heartbeat's `acks`). */
  ackList(): number[] {
    return this.members.map((m) => this.received.get(m) ?? 0);
  }

  /** Payload bytes of `sender`'s messages `after`+1 … `upTo` still held (`sizeOf` each). */
  heldBytesOf(sender: MemberId, after: number, upTo: number): number {
    const held = this.held.get(sender);
    let bytes = 0;
    if (held === undefined) return 0;
    for (let seq = after + 1; seq <= upTo; seq++) {
      const m = held.get(seq);
      if (m !== undefined) bytes += this.sizeOf(m.payload);
    }
    return bytes;
  }

  /**
   * Highest seq of `sender` received by every member (my own receipt counts for me): from the acks
   * this member received, or as the sender announced it — members acknowledge to the sender, which
   * alone learns its messages' stability first hand and announces it (`onStable`).
   */
  stableOf(sender: MemberId): number {
    let stable = this.received.get(sender) ?? 0;
    const announced = sender === this.me ? 0 : Math.min(stable, this.announced.get(sender) ?? 0);
    for (const member of this.members) {
      if (member === this.me) continue;
      stable = Math.min(stable, this.acks.get(member)?.get(sender) ?? 0);
    }
    return Math.max(stable, announced);
  }

  /** `sender` says every member has its channel up to `seq`. */
  onStable(sender: MemberId, seq: number): void {
    if (sender !== this.me && this.held.has(sender) && seq > (this.announced.get(sender) ?? 0)) this.announced.set(sender, seq);
  }

  /** Own messages not yet stable (flow control). */
  unstableOwn(): number {
    return (this.received.get(this.me) ?? 0) - this.stableOf(this.me);
  }

  /**
   * Own messages to send again: to each member whose acknowledgement of this channel has not moved
   * for `retransmitTicks` (a lost message leaves a hole its cumulative ack stops at), those it has
   * not acknowledged that were sent at least that long ago, from its ack on, at most `perMemberMax`.
   * A member whose ack moves is receiving in order: what is in flight to it will follow, and sending
   * it again would only add to a backlog (over the mesh's TCP links, under load, resends doubled the
   * traffic). Each resend to a member that does not answer doubles its wait, up to 8 times.
   */
  retransmissions(now: number, retransmitTicks: number, perMemberMax = 64): Array<[MemberId, DataMessage]> {
    const out: Array<[MemberId, DataMessage]> = [];
    const mine = this.held.get(this.me)!;
    for (const member of this.members) {
      if (member === this.me) continue;
      const acked = this.acks.get(member)?.get(this.me) ?? 0;
      if (acked >= this.seqLast) continue;
      const p = this.progress.get(member) ?? { at: -Infinity, resentAt: -Infinity, backoff: 0 };
      if (now - p.at < retransmitTicks || now - p.resentAt < retransmitTicks * 2 ** p.backoff) continue;
      let budget = perMemberMax;
      for (let seq = acked + 1; seq <= this.seqLast && budget > 0; seq++) {
        const message = mine.get(seq);
        if (message === undefined || now - (this.sentAt.get(seq) ?? 0) < retransmitTicks) continue;
        out.push([member, message]);
        budget--;
      }
      if (budget < perMemberMax) this.progress.set(member, { at: p.at, resentAt: now, backoff: Math.min(p.backoff + 1, 3) });
    }
    return out;
  }

  /**
   * Members that have acknowledged nothing more of this channel for `ticks` although it sent them
   * messages that long ago, and sent them again three times since, the last a retransmit period
   * ago (a lost message or two on a lossy link is not a cut one: the simulator found a member
   * excluded for a message and its first resends lost, one reported before its third resend could
   * be answered): a cut link, or a member gone — seen by the sender alone when heartbeats
   * no longer travel between every two members (heartbeats.ts, star).
   */
  stalled(now: number, ticks: number, retransmitTicks: number): MemberId[] {
    const out: MemberId[] = [];
    for (const member of this.members) {
      if (member === this.me) continue;
      const acked = this.acks.get(member)?.get(this.me) ?? 0;
      if (acked >= this.seqLast) continue;
      const p = this.progress.get(member);
      // Three resends, the last of them unanswered for a retransmit period too (not merely sent).
      if (p === undefined || p.backoff < 3 || now - p.resentAt <= retransmitTicks) continue;
      const since = Math.max(p.at, this.sentAt.get(acked + 1) ?? now);
      if (now - since > ticks) out.push(member);
    }
    return out;
  }

  /**
   * Frees messages that are stable and that the ordering layer has delivered. Incremental: it
   * runs on every data message and heartbeat, so it walks only what it frees, from each
   * sender's watermark up, never the whole backlog.
   */
  collect(deliveredUpTo: (sender: MemberId) => number): void {
    for (const [sender, held] of this.held) {
      const upTo = Math.min(this.stableOf(sender), deliveredUpTo(sender));
      let freed = this.freedUpTo.get(sender) ?? 0;
      if (upTo <= freed) continue;
      for (; freed < upTo; ) {
        freed++;
        const message = held.get(freed);
        if (message !== undefined) {
          held.delete(freed);
          this.heldCount--;
          this.heldBytes -= this.sizeOf(message.payload);
        }
        if (sender === this.me) this.sentAt.delete(freed);
      }
      this.freedUpTo.set(sender, freed);
    }
  }

  /** Everything held, for a flush report. */
  allHeld(): DataMessage[] {
    const out: DataMessage[] = [];
    for (const held of this.held.values()) for (const m of held.values()) out.push(m);
    return out;
  }
}
