/**
 * The delivery rules of one view, over the channels' FIFO output:
 * - every flavor keeps per-sender FIFO order (a message waits for the one before it);
 * - cbcast waits until the vector timestamp says every causally prior message is delivered;
 * - abcast travels on its stream sequencer's channel, so that channel's order is the stream's order;
 *   after a take-over (takeovers.ts) the stream goes on on another channel, whose messages wait
 *   until the take-over, on the old one, is delivered (`sequencerOf` names the sender then);
 * - `safe` waits until the message is stable (every member has it).
 * gbcast is not delivered here: the view change delivers it (see member.ts).
 */
import type { MemberId } from './log.js';
import type { DataMessage } from './messages.js';

export class ViewOrdering {
  /** Channel-delivered messages waiting for their turn, per sender, in channel order. */
  private readonly queues = new Map<MemberId, DataMessage[]>();
  /** Highest channel seq delivered per sender. */
  readonly deliveredUpTo = new Map<MemberId, number>();
  /** Causal messages delivered per origin (the vector clock). */
  readonly causal = new Map<MemberId, number>();

  constructor(
    members: readonly MemberId[],
    /** The stream's sequencer now (after the take-overs delivered so far): its channel carries the stream. */
    private readonly sequencerOf?: (stream: number) => MemberId,
  ) {
    for (const m of members) {
      this.queues.set(m, []);
      this.deliveredUpTo.set(m, 0);
      this.causal.set(m, 0);
    }
  }

  push(message: DataMessage): void {
    this.queues.get(message.sender)?.push(message);
  }

  /**
   * The vector timestamp for an own causal multicast: what this member has
   * delivered of the others, and its own causal sends so far with this one
   * (own messages may still wait, e.g. for stability, when the next is sent).
   */
  vectorFor(me: MemberId, ownCausalSent: number): Record<MemberId, number> {
    const vt = Object.fromEntries(this.causal);
    vt[me] = ownCausalSent;
    return vt;
  }

  /**
   * Delivers every message whose turn has come, in a deterministic order
   * (senders in view order, repeated until nothing moves). With
   * `ignoreStability` (the flush's final step) safe messages do not wait.
   */
  deliverReady(
    stableOf: (sender: MemberId) => number,
    ignoreStability: boolean,
    deliver: (m: DataMessage) => void,
    /** Deliver no further than this per sender (the flush's targets). */
    limitOf: (sender: MemberId) => number = () => Number.MAX_SAFE_INTEGER,
  ): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (const [sender, queue] of this.queues) {
        while (queue.length > 0) {
          const head = queue[0]!;
          if (head.seq > limitOf(sender) || !this.ready(head, stableOf, ignoreStability)) break;
          queue.shift();
          this.deliveredUpTo.set(sender, head.seq);
          if (head.order === 'causal') this.causal.set(head.origin, (this.causal.get(head.origin) ?? 0) + 1);
          deliver(head);
          progress = true;
        }
      }
    }
  }

  /** What is still waiting (after a final delivery: the orphans, dropped with the view). */
  pendingCount(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private ready(m: DataMessage, stableOf: (sender: MemberId) => number, ignoreStability: boolean): boolean {
    if (m.safe && !ignoreStability && stableOf(m.sender) < m.seq) return false;
    if (m.order === 'total') return m.stream === undefined || this.sequencerOf === undefined || this.sequencerOf(m.stream) === m.sender;
    if (m.order !== 'causal' || m.vt === undefined) return true;
    for (const [member, count] of Object.entries(m.vt)) {
      const have = this.causal.get(member) ?? 0;
      if (member === m.origin ? count !== have + 1 : count > have) return false;
    }
    return true;
  }
}
