/** The options of a member and of a multicast: the core's public inputs. */
import type { CoreConfig } from './config.js';
import type { CoreFigures } from './figures.js';
import type { LogEntry, MemberId, OrderFlavor } from './log.js';

export interface MulticastOptions {
  order: OrderFlavor;
  /** Deliver only once every member has it (then every survivor delivers it). */
  safe?: boolean;
  /** abcast: which ordered stream (each has its own sequencer). Default 0. */
  stream?: number;
  /** abcast: the payload goes only to the stream's audience; other members get a stub (audience.ts). */
  elide?: boolean;
  /** abcast: from this message's position on, this member is in (`add`) or out of (`remove`) the stream's audience. */
  audience?: 'add' | 'remove';
  /**
   * abcast: after this message, this member sequences the stream (until the view changes, or
   * another member takes it over the same way). A stream sequenced where its messages come from
   * saves them a hop (`sequencerOf` places it again at every view change).
   */
  takeOver?: boolean;
}

export interface MemberOptions {
  id: MemberId;
  config?: Partial<CoreConfig>;
  /** Receives this member's log (install, send, deliver, …) for the checker. */
  onLog?: (entry: LogEntry) => void;
  /**
   * Where each abcast stream is sequenced: a pure function of the stream and the view's members
   * (every member must compute the same). Default: streams spread over the members in view order.
   */
  sequencerOf?: (stream: number, members: readonly MemberId[]) => MemberId;
  /**
   * A payload's size in bytes (stubs carry `null`): the unstable-bytes figure, the acknowledgement
   * threshold `ackBytes`, the bound on a new sequencer's early requests, and the `size` a stub says
   * it stands for (sent only when it is a count, a non-negative integer). Default: 0.
   */
  sizeOf?: (payload: unknown) => number;
  /** Where this member counts for operators; pass the same one to each incarnation to keep counts monotone. */
  figures?: CoreFigures;
  /**
   * The highest view id an earlier incarnation of this process saw. It asks to join with it, so
   * that a seed founding a group again (after the one it knew was lost) goes on above it.
   */
  viewSeen?: number;
}
