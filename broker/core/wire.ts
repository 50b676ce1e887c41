/**
 * The member's edge to its runtime: actions queue here in order, peer messages
 * to one destination within one turn leave as one batch (consecutive stubs of
 * one sender folded into runs, stub-runs.ts), and what arrives is
 * unpacked and checked — a malformed message is counted and dropped, never
 * thrown; messages from a view not installed yet wait here for it.
 */
import type { Action } from './actions.js';
import type { PeerMessage, WireMessage } from './messages.js';
import { expandRun, foldStubs } from './stub-runs.js';
import { isPeerMessage } from './validate.js';

export class Wire {
  private readonly actions: Action[] = [];
  private readonly outbox = new Map<string, PeerMessage[]>();
  /** Peer messages dropped because they were malformed. */
  malformedTotal = 0;
  private readonly future: Array<[string, PeerMessage]> = [];

  send(to: string, message: PeerMessage): void {
    let queue = this.outbox.get(to);
    if (queue === undefined) this.outbox.set(to, (queue = []));
    queue.push(message);
  }

  emit(action: Action): void {
    this.actions.push(action);
  }

  /** Everything asked since the last call, sends batched per destination. */
  drain(): Action[] {
    for (const [to, messages] of this.outbox) {
      const items = messages.length === 1 ? messages : foldStubs(messages);
      this.actions.push({ kind: 'send', to, message: items.length === 1 ? items[0]! : { kind: 'batch', items } });
    }
    this.outbox.clear();
    return this.actions.splice(0);
  }

  /** The well-formed peer messages in what arrived (a batch or one message). */
  unpack(wire: WireMessage | unknown): PeerMessage[] {
    if (wire === null || typeof wire !== 'object') return this.malformed();
    const items = (wire as { kind?: unknown }).kind === 'batch' ? (wire as { items?: unknown }).items : [wire];
    if (!Array.isArray(items)) return this.malformed();
    const out: PeerMessage[] = [];
    for (const item of items) {
      if (item !== null && typeof item === 'object' && (item as { kind?: unknown }).kind === 'stubs') {
        const stubs = expandRun(item);
        if (stubs === undefined) this.malformedTotal++;
        else for (const stub of stubs) this.keep(stub, out);
      } else this.keep(item, out);
    }
    return out;
  }

  /** Keeps a message from a view not installed yet (bounded: the oldest go first). */
  keepForLater(from: string, message: PeerMessage, max: number): void {
    this.future.push([from, message]);
    if (this.future.length > max) this.future.shift();
  }

  /** Whether anything from a view not installed yet is kept: a newer view that lists this member lives. */
  get keepsFuture(): boolean {
    return this.future.length > 0;
  }

  /** A view was installed: what was kept for it, in arrival order; older ones are dropped, newer kept. */
  takeFor(viewId: number): Array<[string, PeerMessage]> {
    const kept = this.future.splice(0).filter(([, m]) => m.view >= viewId);
    this.future.push(...kept.filter(([, m]) => m.view > viewId));
    return kept.filter(([, m]) => m.view === viewId);
  }

  private keep(item: unknown, out: PeerMessage[]): void {
    if (isPeerMessage(item)) out.push(item);
    else this.malformedTotal++;
  }

  private malformed(): PeerMessage[] {
    this.malformedTotal++;
    return [];
  }
}
