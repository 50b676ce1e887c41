/**
 * Publish de-duplication: a client retries an unacknowledged publish with the
 * same publish id after a reconnect, and it must be applied once. The table
 * remembers, per client instance, the seq each recent publish id got.
 *
 * Deterministic: it depends only on the commands applied, in order, so every
 * replica of a stream holds the same table. Bounded: `pidsPerClientMax` ids
 * per client and `entriesMax` ids in all, least recently seen client first
 * out. Publish ids increase per client, so an id at or below the highest one
 * forgotten (`floor`) that is not remembered is a retry we can no longer
 * answer: it is refused (StalePublishId) rather than applied twice. The client
 * library keeps at most `pidsPerClientMax` publishes unanswered (all of them
 * remembered here), so this only happens to a client that breaks that rule.
 */

import { RecencyMap } from './recency-map.js';

export interface DedupHit {
  topic: string;
  seq: number;
  /** HTTP: the digest of the body applied under this idempotency key (a reuse with another body is refused). */
  digest?: string | undefined;
}

/** One remembered publish id as plain data: [pid, topic, seq] or, with a body digest, [pid, topic, seq, digest]. */
export type DedupEntry = [number, string, number] | [number, string, number, string];

function entryOf(pid: number, hit: DedupHit): DedupEntry {
  return hit.digest === undefined ? [pid, hit.topic, hit.seq] : [pid, hit.topic, hit.seq, hit.digest];
}

function hitOf(entry: readonly [number, string, number, string?]): DedupHit {
  return entry[3] === undefined ? { topic: entry[1], seq: entry[2] } : { topic: entry[1], seq: entry[2], digest: entry[3] };
}

/**
 * One client's remembered publish ids, in the order they were first recorded (the oldest is
 * forgotten first), from `head` on, with the hit of each at the same index. Publish ids almost
 * always arrive increasing, so the list is almost always sorted: a lookup is then a binary search,
 * and an id above every id ever recorded (`max`) is new without any search. `descents` counts the
 * places where the list goes down; while there is one, lookups go through `at`, a Map from each
 * remembered id to its place, kept only then (a client sending ids out of order on purpose must
 * not make every lookup a scan of 4,096 ids). (A Map of ids kept always, with a delete and an
 * insert for every publish, cost a hash lookup, a delete and an insert per publish, and its first
 * entry had to be found by stepping over the holes deletes left.)
 */
class ClientPids {
  pids: number[] = [];
  hits: DedupHit[] = [];
  head = 0;
  /** Highest pid ever recorded: a pid above it is not remembered. */
  max = 0;
  descents = 0;
  /** While `descents` > 0: each remembered pid's place, as `base` + its index in `pids`. */
  private at: Map<number, number> | undefined;
  /** How many places compactions have cut off the front of `pids` (what `at` counts from). */
  private base = 0;

  constructor(
    /** Highest pid forgotten; ids at or below it cannot be checked any more. */
    public floor: number,
  ) {}

  get size(): number {
    return this.pids.length - this.head;
  }

  /** The index of `pid`, or -1. */
  indexOf(pid: number): number {
    if (pid > this.max || this.head === this.pids.length) return -1;
    const pids = this.pids;
    if (this.at !== undefined) {
      const place = this.at.get(pid);
      return place === undefined ? -1 : place - this.base;
    }
    let lo = this.head;
    let hi = pids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = pids[mid]!;
      if (at === pid) return mid;
      if (at < pid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Records `pid` (a pid already remembered keeps its place); returns whether it was new. */
  set(pid: number, hit: DedupHit): boolean {
    const at = this.indexOf(pid);
    if (at >= 0) {
      this.hits[at] = hit;
      return false;
    }
    if (this.size > 0 && pid < this.pids[this.pids.length - 1]!) {
      this.descents++;
      if (this.at === undefined) {
        this.at = new Map();
        for (let i = this.head; i < this.pids.length; i++) this.at.set(this.pids[i]!, this.base + i);
      }
    }
    this.at?.set(pid, this.base + this.pids.length);
    this.pids.push(pid);
    this.hits.push(hit);
    if (pid > this.max) this.max = pid;
    return true;
  }

  /** Forgets the oldest pid. */
  shift(): void {
    const pids = this.pids;
    const oldest = pids[this.head]!;
    if (this.head + 1 < pids.length && pids[this.head + 1]! < oldest) this.descents--;
    this.at?.delete(oldest);
    if (this.descents === 0) this.at = undefined;
    this.floor = Math.max(this.floor, oldest);
    this.head++;
    if (this.head > 1024 && this.head * 2 > pids.length) {
      this.pids = pids.slice(this.head);
      this.hits = this.hits.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  *entries(): IterableIterator<[number, DedupHit]> {
    for (let i = this.head; i < this.pids.length; i++) yield [this.pids[i]!, this.hits[i]!];
  }
}

function clientPids(entries: Iterable<readonly [number, string, number, string?]>, floor: number): ClientPids {
  const known = new ClientPids(floor);
  for (const entry of entries) known.set(entry[0], hitOf(entry));
  return known;
}

export type DedupLookup = { kind: 'new' } | { kind: 'dup'; hit: DedupHit } | { kind: 'stale' };

export class PublishDedup {
  /** Least recently recorded first: the order clients are forgotten in, and snapshots list them in. */
  private readonly clients = new RecencyMap<string, ClientPids>();
  private entries = 0;
  /** The client recorded last: the newest in `clients`' order, so recording it again moves nothing. */
  private latest: string | undefined;

  constructor(
    readonly entriesMax = 1_000_000,
    readonly pidsPerClientMax = 4096,
  ) {}

  lookup(client: string, pid: number): DedupLookup {
    const known = this.clients.get(client);
    if (known === undefined) return { kind: 'new' };
    const at = known.indexOf(pid);
    if (at >= 0) return { kind: 'dup', hit: known.hits[at]! };
    return pid <= known.floor ? { kind: 'stale' } : { kind: 'new' };
  }

  record(client: string, pid: number, hit: DedupHit): void {
    let known = this.clients.get(client);
    if (known === undefined) {
      known = new ClientPids(0);
      this.clients.set(client, known);
    } else if (client !== this.latest) {
      this.clients.touch(client);
    }
    this.latest = client;
    if (known.set(pid, hit)) this.entries++;
    if (known.size > this.pidsPerClientMax) {
      known.shift();
      this.entries--;
    }
    while (this.entries > this.entriesMax) {
      const oldest = this.clients.oldest();
      // Only a count made too high by a snapshot listing a client twice gets here (never one of ours).
      if (oldest === undefined) {
        this.entries = 0;
        break;
      }
      const { key: lru, value: pids } = oldest;
      this.clients.delete(lru);
      if (lru === this.latest) this.latest = undefined;
      this.entries -= pids.size;
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Plain data for a state snapshot: [client, floor, [pid, topic, seq, digest?]…] in LRU order. */
  snapshot(): Array<[string, number, DedupEntry[]]> {
    return [...this.clients.entries()].map(([client, known]) => [client, known.floor, [...known.entries()].map(([pid, hit]) => entryOf(pid, hit))]);
  }

  /** The entries of the topics `keep` selects (a snapshot of part of a stream), floors kept. */
  snapshotWhere(keep: (topic: string) => boolean): Array<[string, number, DedupEntry[]]> {
    const out: Array<[string, number, DedupEntry[]]> = [];
    for (const [client, known] of this.clients.entries()) {
      const pids = [...known.entries()].filter(([, hit]) => keep(hit.topic)).map(([pid, hit]) => entryOf(pid, hit));
      if (pids.length > 0) out.push([client, known.floor, pids]);
    }
    return out;
  }

  /** Adds a part snapshot's entries to this table (what a broker taking one more topic learns). */
  merge(data: ReadonlyArray<[string, number, ReadonlyArray<readonly [number, string, number, string?]>]>): void {
    for (const [client, floor, pids] of data) {
      for (const entry of pids) this.record(client, entry[0], hitOf(entry));
      const known = this.clients.get(client);
      if (known !== undefined) known.floor = Math.max(known.floor, floor);
    }
  }

  restore(data: ReadonlyArray<[string, number, ReadonlyArray<readonly [number, string, number, string?]>]>): void {
    this.clients.clear();
    this.entries = 0;
    this.latest = undefined;
    for (const [client, floor, pids] of data) {
      this.clients.set(client, clientPids(pids, floor));
      // Counted as listed, as every version of this table counts a snapshot (one made by
      // `snapshot()` never lists a pid twice).
      this.entries += pids.length;
    }
  }
}
