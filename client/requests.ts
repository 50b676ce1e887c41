/**
 * The requests a client has in flight on its current link: each by its id,
 * and — protocol 2 — the order its acknowledged publishes were sent in, which
 * is how an `acks` message (a list of seqs) is matched to them.
 */
import type { Subscription } from './subscription.js';

export type PendingRequest =
  | { kind: 'sub'; sub: Subscription }
  | { kind: 'unsub'; done: () => void }
  | { kind: 'pub'; pid: number }
  | { kind: 'refresh' };

export class Requests {
  private idLast = 0;
  private readonly byId = new Map<number, PendingRequest>();
  /** Ids of publishes waiting for `acks`, oldest first from `head`. */
  private order: number[] = [];
  private head = 0;

  /** Registers a request under a new id; `acked`: a v2 publish, answered by `acks`. */
  add(request: PendingRequest, acked = false): number {
    const id = ++this.idLast;
    this.byId.set(id, request);
    if (acked) this.order.push(id);
    return id;
  }

  /** The request `id` answers, taken out (undefined if none: answered already, or from an earlier link). */
  take(id: number): PendingRequest | undefined {
    const request = this.byId.get(id);
    if (request === undefined) return undefined;
    this.byId.delete(id);
    if (request.kind === 'pub') this.leaveOrder(id);
    return request;
  }

  /** The ids the next `count` acknowledgements are for, in the order the publishes were sent. */
  nextAcked(count: number): number[] {
    return this.order.slice(this.head, this.head + count);
  }

  /** The link is gone: every request with it. Returns what was pending (unsubscribes count as done). */
  clear(): PendingRequest[] {
    const pending = [...this.byId.values()];
    this.byId.clear();
    this.order = [];
    this.head = 0;
    return pending;
  }

  /** Answered (by `acks` or by its own error): it leaves the order wherever it stands — a refusal at the edge can overtake earlier acks. */
  private leaveOrder(id: number): void {
    if (this.order[this.head] === id) this.head++;
    else {
      const at = this.order.indexOf(id, this.head);
      if (at >= 0) this.order.splice(at, 1);
    }
    if (this.head === this.order.length) {
      this.order = [];
      this.head = 0;
    }
  }
}
