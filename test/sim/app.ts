/**
 * The simulated application: its state is a digest of exactly what the core handed it, so that
 * the checker can compare states the core never describes itself (predicates S1–S3).
 *
 * What it digests, per delivery: the message key, flavor, safety, stream and content — the
 * payload, or '~' for an elided message (its payload reaches only the stream's audience, and A1/A2
 * judge who got it; here a stub and the payload of an elided message count alike). A stub of a
 * message that was not elided digests as '~' too, unlike its payload, so it shows.
 *
 * Only what the guarantees make equal is compared, so the digest has three parts:
 * - `chain`: a running hash over views, each closed view contributing the multiset of what was
 *   delivered in it (virtual synchrony promises the same set per view, not one order across
 *   senders);
 * - `view`: that multiset hash for the current view, so far (order-insensitive: a sum of hashes);
 * - `streams`: per abcast stream, a running hash in delivery order (total order is promised).
 * A joiner gets all three from the core's state transfer (get-state, stateReady, the install's
 * state) and folds the old view's set into its chain at its install, as the members moving on do.
 */
import type { Delivery } from '../../broker/core/index.js';

/** An immutable snapshot: the core may hand the very object to a joiner, so it is never mutated. */
export interface AppSnapshot {
  readonly chain: string;
  readonly view: readonly [number, number];
  readonly streams: Readonly<Record<string, string>>;
}

export const emptyState: AppSnapshot = { chain: '0', view: [0, 0], streams: {} };

/** The simulator's payloads: `e` marks an elided abcast (its payload is not compared). */
export interface SimPayload {
  n: number;
  e?: 1;
}

export class DigestApp {
  private chain = emptyState.chain;
  private sum: [number, number] = [0, 0];
  private streams = new Map<string, string>();

  deliver(d: Delivery): void {
    const elided = d.stub === true || (d.payload as SimPayload | null)?.e === 1;
    const content = elided ? '~' : JSON.stringify(d.payload);
    const item = `${d.key}|${d.order}|${d.safe ? 's' : ''}|${d.stream ?? ''}|${content}`;
    const h = hash(item);
    this.sum = [(this.sum[0] + h[0]) >>> 0, (this.sum[1] + h[1]) >>> 0];
    if (d.order === 'total') {
      const s = String(d.stream ?? 0);
      this.streams.set(s, hex(hash(`${this.streams.get(s) ?? ''}|${item}`)));
    }
  }

  /** A view is installed: the old view's set joins the chain. */
  installed(): void {
    this.chain = hex(hash(`${this.chain}|${this.sum[0]}.${this.sum[1]}`));
    this.sum = [0, 0];
  }

  snapshot(): AppSnapshot {
    return { chain: this.chain, view: [this.sum[0], this.sum[1]], streams: Object.fromEntries(this.streams) };
  }

  restore(s: AppSnapshot): void {
    this.chain = s.chain;
    this.sum = [s.view[0], s.view[1]];
    this.streams = new Map(Object.entries(s.streams));
  }

  digest(): string {
    const streams = [...this.streams].sort(([a], [b]) => Number(a) - Number(b)).map(([s, h]) => `${s}:${h}`);
    return hex(hash(`${this.chain}|${this.sum[0]}.${this.sum[1]}|${streams.join(',')}`));
  }
}

/** cyrb53's two 32-bit halves: a fast, well-mixed string hash (not cryptographic; none is needed). */
function hash(s: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}

function hex(h: [number, number]): string {
  return h[0].toString(16).padStart(8, '0') + h[1].toString(16).padStart(8, '0');
}
