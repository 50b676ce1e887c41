/** What every part of a member sees of it: who it is, its time, its settings, its current view. */
import type { ViewChannel } from './channel.js';
import type { CoreConfig } from './config.js';
import type { MemberId, ViewRecord } from './log.js';
import type { ViewOrdering } from './ordering.js';

export interface MemberBasics {
  readonly id: MemberId;
  /** Ticks so far. */
  readonly now: number;
  readonly config: CoreConfig;
  readonly view: ViewRecord | undefined;
  readonly channel: ViewChannel;
  readonly ordering: ViewOrdering;
}
