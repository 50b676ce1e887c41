/**
 * A topic's history: the last messages, bounded by count and by bytes, kept
 * as their encoded wire form so a replay copies bytes and encodes nothing.
 * Seqs in the history are consecutive: `firstSeq … lastSeq`.
 */
import type { MessageParts } from '../../client/protocol/index.js';

export interface HistoryEntry {
  seq: number;
  /** The encoded `msg` wire message (protocol v1). */
  encoded: Uint8Array;
  /**
   * The message's fields, its payload a view into `encoded` — set when the message was ordered
   * here; for an entry loaded from another broker's snapshot, derived when first needed (wire.ts).
   */
  parts?: MessageParts;
}

export class History {
  private entries: HistoryEntry[] = [];
  /** Index of the oldest live entry in `entries` (amortised O(1) trimming). */
  private head = 0;
  private bytes = 0;

  constructor(
    /** Most messages kept. 0 keeps none. */
    readonly lengthMax: number,
    /** Most encoded bytes kept. */
    readonly bytesMax: number,
  ) {}

  get length(): number {
    return this.entries.length - this.head;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** Seq of the oldest message kept, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.entries[this.head]?.seq;
  }

  push(entry: HistoryEntry): void {
    if (this.lengthMax === 0 || entry.encoded.byteLength > this.bytesMax) {
      // Keeping nothing (or not even this one) still moves the window: clear.
      this.clear();
      return;
    }
    this.entries.push(entry);
    this.bytes += entry.encoded.byteLength;
    while (this.length > this.lengthMax || this.bytes > this.bytesMax) {
      this.bytes -= this.entries[this.head]!.encoded.byteLength;
      this.entries[this.head] = undefined as unknown as HistoryEntry;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Everything kept, oldest first (for a state snapshot). */
  all(): HistoryEntry[] {
    return this.entries.slice(this.head);
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** At most `limit` entries from seq `from` on, oldest first (none before `firstSeq`: the caller checks). */
  range(from: number, limit: number): HistoryEntry[] {
    const first = this.firstSeq;
    if (first === undefined) return [];
    const start = this.head + Math.max(0, from - first);
    return this.entries.slice(start, Math.min(this.entries.length, start + limit));
  }

  /**
   * The entries after `seq`, given that the topic is at `lastSeq`; undefined
   * when history no longer reaches back that far.
   */
  after(seq: number, lastSeq: number): HistoryEntry[] | undefined {
    if (seq === lastSeq) return [];
    if (seq > lastSeq) return undefined;
    const first = this.firstSeq;
    if (first === undefined || seq < first - 1) return undefined;
    return this.entries.slice(this.head + (seq - first + 1));
  }
}
