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

interface ClientPids {
  pids: Map<number, DedupHit>;
  /**
   * The pids of `pids` in the order they were first recorded, from `head` on: the oldest is found
   * here. (Reading it off the Map's own order would step over every entry deleted before it since
   * the Map last rehashed — thousands per publish on a busy client.)
   */
  order: number[];
  head: number;
  /** Highest pid forgotten; ids at or below it cannot be checked any more. */
  floor: number;
}

function clientPids(pids: Map<number, DedupHit>, floor: number): ClientPids {
  return { pids, order: [...pids.keys()], head: 0, floor };
}

export type DedupLookup = { kind: 'new' } | { kind: 'dup'; hit: DedupHit } | { kind: 'stale' };

export class PublishDedup {
  private readonly clients = new Map<string, ClientPids>();
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
    const hit = known.pids.get(pid);
    if (hit !== undefined) return { kind: 'dup', hit };
    return pid <= known.floor ? { kind: 'stale' } : { kind: 'new' };
  }

  record(client: string, pid: number, hit: DedupHit): void {
    let known = this.clients.get(client);
    if (known === undefined) {
      known = clientPids(new Map(), 0);
      this.clients.set(client, known);
    } else if (client !== this.latest) {
      // Re-inserted: Map order is our LRU order (the most recent client is already last).
      this.clients.delete(client);
      this.clients.set(client, known);
    }
    this.latest = client;
    if (!known.pids.has(pid)) {
      this.entries++;
      known.order.push(pid);
    }
    known.pids.set(pid, hit);
    if (known.pids.size > this.pidsPerClientMax) {
      const oldest = known.order[known.head++]!;
      known.pids.delete(oldest);
      known.floor = Math.max(known.floor, oldest);
      this.entries--;
      if (known.head > 1024 && known.head * 2 > known.order.length) {
        known.order = known.order.slice(known.head);
        known.head = 0;
      }
    }
    while (this.entries > this.entriesMax) {
      const [lru, pids] = this.clients.entries().next().value!;
      this.clients.delete(lru);
      if (lru === this.latest) this.latest = undefined;
      this.entries -= pids.pids.size;
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Plain data for a state snapshot: [client, floor, [pid, topic, seq, digest?]…] in LRU order. */
  snapshot(): Array<[string, number, DedupEntry[]]> {
    return [...this.clients].map(([client, known]) => [client, known.floor, [...known.pids].map(([pid, hit]) => entryOf(pid, hit))]);
  }

  /** The entries of the topics `keep` selects (a snapshot of part of a stream), floors kept. */
  snapshotWhere(keep: (topic: string) => boolean): Array<[string, number, DedupEntry[]]> {
    const out: Array<[string, number, DedupEntry[]]> = [];
    for (const [client, known] of this.clients) {
      const pids = [...known.pids].filter(([, hit]) => keep(hit.topic)).map(([pid, hit]) => entryOf(pid, hit));
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
      this.clients.set(client, clientPids(new Map(pids.map((entry) => [entry[0], hitOf(entry)])), floor));
      this.entries += pids.length;
    }
  }
}
