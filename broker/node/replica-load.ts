/**
 * What this broker keeps of a group or a topic, and the snapshot it waits for
 * (a whole group's, or one topic's) while it loads one.
 *
 * A load is positioned by this broker's own controls: each `hold`/`want` it
 * said and that was delivered marks where, in the buffer of commands
 * delivered since, the commands after that control start. A snapshot taken
 * at any of those positions loads: restore it, then replay what follows its
 * mark. Asking again (the server may have died, or its note was lost) adds
 * a mark; the buffer is never thrown away while the load waits, so nothing
 * between the first position and the snapshot's is missed or applied twice.
 */
import { assert, type Delivery, type MessageKey } from '../core/index.js';
import type { TopicCommand } from '../topics/index.js';

export class Load {
  private readonly marks = new Map<MessageKey, number>();
  private readonly buffer: Delivery[] = [];
  /** When this broker last asked (ms), to ask again if no snapshot comes. */
  askedAt: number;

  /**
   * @param current topics this broker already keeps, current up to the first position (a group
   *   load for a broker that wanted some of its topics): their local subscribers must see every
   *   message, so they are carried forward command by command, not jumped ahead by a snapshot.
   */
  constructor(
    now: number,
    readonly current: Set<string> = new Set(),
  ) {
    this.askedAt = now;
    this.startedAt = now;
  }

  /** When the load began (`askedAt` moves with each retry). */
  readonly startedAt: number;

  /** Whether an own control of this load was delivered (commands are buffered from then on). */
  get positioned(): boolean {
    return this.marks.size > 0;
  }

  mark(key: MessageKey): void {
    // A control is delivered once, so a position is marked once: a load never replays from two.
    assert(!this.marks.has(key), 'a load marks a position once');
    this.marks.set(key, this.buffer.length);
  }

  push(d: Delivery): void {
    this.buffer.push(unpinned(d));
  }

  /** The commands before and after `key`'s position, or undefined if `key` is not one of this load's. */
  split(key: MessageKey): { before: Delivery[]; after: Delivery[] } | undefined {
    const at = this.marks.get(key);
    return at === undefined ? undefined : { before: this.buffer.slice(0, at), after: this.buffer.slice(at) };
  }
}


/** A group this broker holds: asked (its `hold` on its way), loading, or complete. */
export interface Held {
  phase: 'asked' | 'loading' | 'complete';
  load?: Load;
  /** Its `unhold` is on its way: still served until it is delivered. */
  releasing: boolean;
  /** Tag of this request: an own `hold` with another tag is an older request's. */
  n: number;
}

/**
 * A topic this broker wants (a local subscriber): asked, loading (a load waits for the server's
 * snapshot, or for a server to exist), or active (kept, current).
 */
export interface Wanted {
  phase: 'asked' | 'loading' | 'active';
  load?: Load;
  /** Tag of this request: an own `want` with another tag is an older request's. */
  n: number;
}

/**
 * The delivery, its publish's `encoded` payload copied out if it is a view into a much larger
 * buffer: decoded off a link it views the whole frame (a batch of up to 256 KiB), which a buffered
 * command would keep alive for as long as the load waits.
 */
function unpinned(d: Delivery): Delivery {
  const command = commandOf(d);
  const encoded = command?.kind === 'publish' ? command.encoded : undefined;
  if (encoded === undefined || encoded.buffer.byteLength <= 2 * encoded.byteLength + 64) return d;
  return { ...d, payload: { command: { ...command!, encoded: new Uint8Array(encoded) } } };
}

/** The topic command a delivery carries, if any. */
export function commandOf(d: Delivery): TopicCommand | undefined {
  return (d.payload as { command?: TopicCommand } | null)?.command;
}
