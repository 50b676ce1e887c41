/**
 * One topic's replicated state: its seq, epoch, state, history and presence
 * set. Changed only by TopicTable.apply, in stream order.
 */
import type { PresenceEntry } from '../../client/protocol/index.js';
import { History } from './history.js';
import { TopicState } from './topic-state.js';

export class Topic {
  /** Last topic seq assigned; 0 before the first message. */
  seq = 0;
  /** The state a late subscriber loads, and its size. */
  readonly stateHolder = new TopicState();
  /** Presence set, session id → entry, in join order. */
  readonly presence = new Map<string, PresenceEntry>();

  constructor(
    readonly name: string,
    /** Tells incarnations of a topic apart: a topic dropped and created again gets a new epoch, so an old seq cannot resume into it. */
    readonly epoch: string,
    readonly history: History,
  ) {}

  /** The state a late subscriber loads (`null` until a state or patch message). */
  get state(): unknown {
    return this.stateHolder.value;
  }

  presenceObject(): Record<string, PresenceEntry> {
    const out: Record<string, PresenceEntry> = {};
    for (const [session, entry] of this.presence) {
      Object.defineProperty(out, session, { value: entry, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}
