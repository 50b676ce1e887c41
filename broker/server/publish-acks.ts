/**
 * Protocol 2's publish acknowledgements for one connection: cumulative, in the
 * order the publishes were sent. A burst of publishes answered in one turn
 * costs one `acks` message listing their seqs, not one reply each.
 *
 * Results may come back out of order (in a mesh, publishes to different
 * lightweight groups are ordered by different streams), so each waits until
 * every publish sent before it is answered too. A failure is answered by its
 * own `error` (with its id), after the acks of the publishes before it — so
 * the client, reading in order, knows which of its pending publishes each
 * seq in an `acks` belongs to.
 */
import { encodeAcks, encode, type ErrorMessage } from '../../client/protocol/index.js';
import type { ApplyResult } from '../topics/index.js';

export class PublishAcks {
  /** Ids sent and not answered yet, oldest first (`head` is the oldest live one). */
  private waiting: number[] = [];
  private head = 0;
  /** Tickets handed out before `waiting[0]`'s: a ticket is a publish's place in the order sent. */
  private base = 0;
  /** Results that came before an earlier publish's, by ticket (ids may repeat; tickets do not). */
  private readonly early = new Map<number, ApplyResult>();
  /** Seqs acknowledged since the last `acks` went into the queue. */
  private seqs: number[] = [];

  constructor(
    /** Queues an encoded message on the connection. */
    private readonly queue: (encoded: Uint8Array) => void,
    /** Asks for a flush at the end of this turn (an `acks` is written then). */
    private readonly schedule: () => void,
  ) {}

  get pending(): number {
    return this.waiting.length - this.head;
  }

  /** A publish with `id` was taken; its answer must name the returned ticket. */
  sent(id: number): number {
    this.waiting.push(id);
    return this.base + this.waiting.length - 1;
  }

  answered(ticket: number, result: ApplyResult): void {
    if (ticket !== this.base + this.head) {
      this.early.set(ticket, result);
      return;
    }
    this.settle(result);
    for (let r = this.early.get(this.base + this.head); r !== undefined; r = this.early.get(this.base + this.head)) {
      this.early.delete(this.base + this.head);
      this.settle(r);
    }
    if (this.head === this.waiting.length) {
      this.base += this.waiting.length;
      this.waiting = [];
      this.head = 0;
    }
  }

  /** Writes the `acks` gathered so far into the queue (called when the connection flushes). */
  close(): void {
    if (this.seqs.length === 0) return;
    this.queue(encodeAcks(this.seqs));
    this.seqs = [];
  }

  private settle(result: ApplyResult): void {
    const id = this.waiting[this.head++]!;
    if (result.ok) {
      if (this.seqs.length === 0) this.schedule();
      this.seqs.push(result.seq);
      return;
    }
    this.close();
    const error: ErrorMessage = { type: 'error', id, code: result.code, message: result.message };
    this.queue(encode(error));
  }
}
