/**
 * A topic's history: the last messages, bounded by count and by bytes. Seqs in
 * the history are consecutive: `firstSeq … lastSeq`.
 */
import { encodeMessageV1, messageV1Bytes, Writer, type MessageParts } from '../../client/protocol/index.js';

/**
 * One message of a history. A message ordered here keeps its parts and writes its v1 wire form
 * (`encoded`) the first time something asks for it — a v1 subscriber, a snapshot, the HTTP
 * history. Most copies never do: a group's owners without subscribers, and brokers whose
 * subscribers speak v2, which is written from the parts (wire.ts). An entry loaded from another
 * broker's snapshot has only its v1 bytes; its parts are decoded from them when first needed.
 * `bytes` is the v1 size either way, so every copy bounds a topic's history alike.
 */
export class HistoryEntry {
  private v1: Uint8Array | undefined;

  private constructor(
    readonly seq: number,
    readonly bytes: number,
    public parts: MessageParts | undefined,
    v1: Uint8Array | undefined,
  ) {
    this.v1 = v1;
  }

  /**
   * A message ordered here. Its payload is copied into a shared slab: what it came in (a client's
   * frame, a link's batch) is not kept alive by the history.
   */
  static ordered(parts: MessageParts): HistoryEntry {
    parts.data = payloads.raw(parts.data).finish();
    return new HistoryEntry(parts.seq, messageV1Bytes(parts), parts, undefined);
  }

  /** A message from a snapshot: its v1 bytes (`parts` may be given by the caller, e.g. a test). */
  static loaded(seq: number, encoded: Uint8Array, parts?: MessageParts): HistoryEntry {
    return new HistoryEntry(seq, encoded.byteLength, parts, encoded);
  }

  /** The `msg` wire message of protocol v1, written now if it was not yet. */
  get encoded(): Uint8Array {
    if (this.v1 === undefined) {
      const parts = this.parts!;
      const { encoded, dataOffset } = encodeMessageV1(parts);
      this.v1 = encoded;
      // The payload now lives in the v1 form: the parts point into it, so it is kept once.
      parts.data = encoded.subarray(dataOffset, dataOffset + parts.data.byteLength);
    }
    return this.v1;
  }
}

/**
 * Slabs that ordered payloads are copied into, one after another (writer.ts): 8 KiB, or for a
 * larger payload the next power of two that holds it, which the payloads after it then share.
 * An entry keeps its slab alive, as a v1 form written into the message writer's slabs does.
 */
const payloads = new Writer();

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
    if (this.lengthMax === 0 || entry.bytes > this.bytesMax) {
      // Keeping nothing (or not even this one) still moves the window: clear.
      this.clear();
      return;
    }
    this.entries.push(entry);
    this.bytes += entry.bytes;
    while (this.length > this.lengthMax || this.bytes > this.bytesMax) {
      this.bytes -= this.entries[this.head]!.bytes;
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
