/**
 * Conflation for one connection: on topics configured for it (`--conflate game.*.pos`), a
 * subscriber whose socket is behind receives the latest event per publisher instead of every
 * intermediate one — positions at game rate, where only the newest value matters.
 *
 * While the socket holds more than `conflateAfterBytes` unwritten, an event of such a topic from
 * a publisher (`client`) is held instead of queued, replacing the one held from the same
 * publisher. Once the socket has written everything, the held events go out in seq order; one
 * that follows a skipped seq carries `prev`, the seq this subscriber got before it, so the client
 * tells a skip from a loss. A state or patch message, or an event without a publisher, is never
 * held or dropped: it first releases what its topic holds, so each topic's order stays intact.
 * Subscribers that keep up never hold anything and get every message. Sans-I/O: the session asks
 * and acts (session.ts).
 */
import type { HistoryEntry } from '../topics/index.js';
import { partsOf } from '../topics/index.js';

/** Unwritten bytes at the socket past which conflatable events are held. */
export const conflateAfterBytes = 64 * 1024;

interface Held {
  /** The seq this subscriber got last before the first held event. */
  prevSeq: number;
  /** The newest held event per publisher. */
  latest: Map<string, HistoryEntry>;
}

/** What to queue, in order: an entry, and the seq it follows when seqs were skipped before it. */
export interface Release {
  entry: HistoryEntry;
  prev: number | undefined;
}

export class Conflation {
  /** By subscription id (one per topic at this broker). */
  private readonly held = new Map<number, Held>();
  /** Events dropped because a newer one from the same publisher replaced them (for the metrics). */
  skipped = 0;

  get holding(): boolean {
    return this.held.size > 0;
  }

  /**
   * An entry for a conflated subscription. Returns true when it was held (nothing to queue now);
   * false when the caller queues it as usual — after queueing what `releaseTopic` gives back.
   */
  offer(entry: HistoryEntry, sid: number, behind: boolean): boolean {
    const held = this.held.get(sid);
    const publisher = publisherOf(entry);
    if (publisher === undefined) return false;
    if (held !== undefined) {
      if (held.latest.has(publisher)) this.skipped++;
      held.latest.delete(publisher); // re-inserted: the map's order does not matter, seqs do
      held.latest.set(publisher, entry);
      return true;
    }
    if (!behind) return false;
    this.held.set(sid, { prevSeq: entry.seq - 1, latest: new Map([[publisher, entry]]) });
    return true;
  }

  /** What `sid` holds, in seq order, to queue before anything newer of its topic; empty if nothing. */
  releaseTopic(sid: number): Release[] {
    const held = this.held.get(sid);
    if (held === undefined) return [];
    this.held.delete(sid);
    const entries = [...held.latest.values()].sort((a, b) => a.seq - b.seq);
    let last = held.prevSeq;
    return entries.map((entry) => {
      const release = { entry, prev: entry.seq === last + 1 ? undefined : last };
      last = entry.seq;
      return release;
    });
  }

  /** The subscription ended: what it held is dropped. */
  forget(sid: number): void {
    this.held.delete(sid);
  }

  /** Everything held, topic by topic (each in seq order): the socket has caught up. */
  releaseAll(): Array<[sid: number, releases: Release[]]> {
    return [...this.held.keys()].map((sid) => [sid, this.releaseTopic(sid)]);
  }
}

/** The publisher of an event (undefined for state and patch messages, HTTP publishes, or an entry that does not decode). */
function publisherOf(entry: HistoryEntry): string | undefined {
  try {
    const parts = partsOf(entry);
    return parts.kind === 'event' ? parts.client : undefined;
  } catch {
    return undefined;
  }
}
