/**
 * Timing and limits of the core group, in ticks (the runtime decides how long
 * a tick is; broker/main uses 10 ms) and in counts. Every field has a default.
 */
export interface CoreConfig {
  /** Heartbeats (carrying cumulative acks) go out this often. Default 5 ticks. */
  heartbeatTicks: number;
  /** New acks wait this long to travel together (fewer messages, later stability). Default 2 ticks. */
  ackTicks: number;
  /**
   * With `ackTicks` 0: a turn acknowledges again within a tick once this many bytes of data
   * (payload, `MemberOptions.sizeOf`) arrived since the last round (heartbeats.ts `endOfTurn`) —
   * a stub counting the payload it stands for (messages.ts `size`), and a member that announces
   * its stability counting its own data that became stable. Default Infinity: never for bytes.
   */
  ackBytes: number;
  /**
   * With `ackTicks` 0, in a view that acknowledges to all (at most `ackAllMax` members): a turn
   * that received others' data sends a round at its end while fewer than this many rounds went in
   * the tick (every round counts, the tick's own too), whatever the data's size; past that, the
   * turn waits for `ackBytes` or the next tick (heartbeats.ts `endOfTurn`). Larger views send one
   * round a tick this way. At least 1; default 1.
   */
  ackRoundsPerTick: number;
  /**
   * Views of at most this many members acknowledge to every member (each learns stability first
   * hand, one hop sooner); larger ones to the senders only, which announce their stability
   * (heartbeats.ts). Default 4.
   */
  ackAllMax: number;
  /**
   * Views of at most this many members send their periodic heartbeats to every member; larger ones
   * in a star, through the coordinator, which vouches for the members it hears (heartbeats.ts):
   * O(n) heartbeats per interval instead of O(n²). Default 8.
   */
  heartbeatAllMax: number;
  /** A member silent this long is suspected and removed in the next view. Default 60 ticks. */
  suspectTicks: number;
  /** Unacknowledged data is sent again after this long. Default 12 ticks. */
  retransmitTicks: number;
  /** A joiner (or a blocked minority) asks again after this long. Default 20 ticks. */
  retryTicks: number;
  /** Own multicasts not yet stable before new ones wait (flow control). Default 256. */
  windowMax: number;
  /** Messages from a view not installed yet that are kept until it is. Default 10 000. */
  futureMax: number;
  /**
   * A member cut off from any primary view this long gives up its incarnation (stops as
   * excluded) so that its runtime can join again afresh, e.g. when every other member of its
   * last view is gone. Default 600 ticks.
   */
  isolatedTicksMax: number;
}

export const coreConfigDefault: CoreConfig = {
  heartbeatTicks: 5,
  ackTicks: 2,
  ackBytes: Infinity,
  ackRoundsPerTick: 1,
  ackAllMax: 4,
  heartbeatAllMax: 8,
  suspectTicks: 60,
  retransmitTicks: 12,
  retryTicks: 20,
  windowMax: 256,
  futureMax: 10_000,
  isolatedTicksMax: 600,
};
