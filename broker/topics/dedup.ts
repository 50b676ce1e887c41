/**
 * Publish de-duplication: a client retries an unacknowledged publish with the
 * same publish id after a reconnect, and it must be applied once. The table
 * remembers, per client instance, the seq each recent publish id got.
 *
 * Deterministic: it depends only on the commands applied, in order, so every
 * replica of a stream holds the same table. Bounded: `pidsPerClientMax` ids
 * per client (a client never has more unacknowledged publishes than its queue
 * bound, far below this) and `clientsMax` clients, least recently seen first out.
 */

export interface DedupHit {
  topic: string;
  seq: number;
}

export class PublishDedup {
  private readonly clients = new Map<string, Map<number, DedupHit>>();

  constructor(
    readonly clientsMax = 100_000,
    readonly pidsPerClientMax = 4096,
  ) {}

  lookup(client: string, pid: number): DedupHit | undefined {
    return this.clients.get(client)?.get(pid);
  }

  record(client: string, pid: number, hit: DedupHit): void {
    let pids = this.clients.get(client);
    if (pids === undefined) {
      pids = new Map();
    } else {
      this.clients.delete(client); // re-insert: Map order is our LRU order
    }
    this.clients.set(client, pids);
    pids.set(pid, hit);
    if (pids.size > this.pidsPerClientMax) pids.delete(pids.keys().next().value!);
    if (this.clients.size > this.clientsMax) this.clients.delete(this.clients.keys().next().value!);
  }

  get size(): number {
    return this.clients.size;
  }
}
