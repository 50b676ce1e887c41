/** The options of a member and of a multicast: the core's public inputs. */
import type { CoreConfig } from './config.js';
import type { LogEntry, MemberId, OrderFlavor } from './log.js';

export interface MulticastOptions {
  order: OrderFlavor;
  /** Deliver only once every member has it (then every survivor delivers it). */
  safe?: boolean;
  /** abcast: which ordered stream (each has its own sequencer). Default 0. */
  stream?: number;
}

export interface MemberOptions {
  id: MemberId;
  config?: Partial<CoreConfig>;
  /** Receives this member's log (install, send, deliver, …) for the checker. */
  onLog?: (entry: LogEntry) => void;
}
