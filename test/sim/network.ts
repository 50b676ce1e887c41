/**
 * A simulated network with virtual time, driven by one seeded PRNG. Named
 * fault knobs (TigerBeetle's packet simulator is the model): per-link delay,
 * loss, duplication, reordering (by random delay), partitions (isolate one,
 * split in two, one-way) and their healing. The same seed gives the same run.
 */
import type { WireMessage } from '../../broker/core/index.js';

export interface FaultKnobs {
  /** Smallest and largest one-way delay, ticks. */
  delayTicksMin: number;
  delayTicksMax: number;
  /** Probability that a message is lost. */
  lossProbability: number;
  /** Probability that a message arrives twice. */
  duplicateProbability: number;
}

export const calmNetwork: FaultKnobs = { delayTicksMin: 1, delayTicksMax: 3, lossProbability: 0, duplicateProbability: 0 };

export interface InFlight {
  at: number;
  order: number;
  from: string;
  to: string;
  message: WireMessage;
}

/** Which links are cut: a predicate over (from, to) names (not incarnations). */
export type Partition =
  | { kind: 'none' }
  | { kind: 'isolate'; name: string }
  | { kind: 'split'; side: ReadonlySet<string> }
  | { kind: 'one-way'; from: string; to: string }
  /** Everything sent to `name` is lost; what it sends arrives. */
  | { kind: 'deaf'; name: string }
  /** Links between the two sides cut both ways; members on neither side hear everyone (one cut link, or a bridge). */
  | { kind: 'sides'; left: ReadonlySet<string>; right: ReadonlySet<string> }
  /** Several at once: a link is cut if any of them cuts it. */
  | { kind: 'all'; parts: readonly Partition[] };

export class SimNetwork {
  private queue: InFlight[] = [];
  private order = 0;
  partition: Partition = { kind: 'none' };
  /** Peer message kinds lost on every link (a scripted scenario's `lose`), a batch with one of them whole. */
  readonly lostKinds = new Set<string>();
  knobs: FaultKnobs;
  /** Peer messages sent (after batching), for the scale figures. */
  sentTotal = 0;
  /** Protocol messages sent, by kind, counting each item of a batch. */
  readonly sentByKind = new Map<string, number>();

  constructor(
    private readonly random: () => number,
    knobs: FaultKnobs,
    /** Member id → name (strips the incarnation), so partitions apply to every incarnation. */
    private readonly nameOf: (id: string) => string,
  ) {
    this.knobs = knobs;
  }

  send(now: number, from: string, to: string, message: WireMessage): void {
    frozen(message);
    this.sentTotal++;
    for (const item of message.kind === 'batch' ? message.items : [message]) this.sentByKind.set(item.kind, (this.sentByKind.get(item.kind) ?? 0) + 1);
    if (this.cut(from, to)) return;
    if (this.lostKinds.size > 0 && (message.kind === 'batch' ? message.items : [message]).some((item) => this.lostKinds.has(item.kind))) return;
    if (this.random() < this.knobs.lossProbability) return;
    const copies = this.random() < this.knobs.duplicateProbability ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const span = this.knobs.delayTicksMax - this.knobs.delayTicksMin;
      const delay = this.knobs.delayTicksMin + Math.floor(this.random() * (span + 1));
      this.queue.push({ at: now + delay, order: this.order++, from, to, message });
    }
  }

  /** Messages due at `now` (or earlier), in a fixed order; a cut link drops what is in flight on it. */
  due(now: number): InFlight[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const m of this.queue) (m.at <= now ? ready : rest).push(m);
    this.queue = rest;
    ready.sort((a, b) => a.at - b.at || a.order - b.order);
    const out = this.released.splice(0);
    for (const m of ready) {
      if (this.cut(m.from, m.to)) continue;
      if (this.holdBack?.(m) === true) this.heldBack.push(m);
      else out.push(m);
    }
    return out;
  }

  /**
   * A test's hand on single messages (test/sim/races.ts): a due message `holdBack` matches is kept
   * aside, not lost, until `release` hands it on — at the next step, before anything else and
   * whatever the cuts, in the order released, so that several arrive in one turn.
   */
  holdBack: ((m: InFlight) => boolean) | undefined;
  readonly heldBack: InFlight[] = [];
  private readonly released: InFlight[] = [];

  release(pick: (m: InFlight) => boolean): number {
    const chosen = this.heldBack.filter(pick);
    for (const m of chosen) this.heldBack.splice(this.heldBack.indexOf(m), 1);
    this.released.push(...chosen);
    return chosen.length;
  }

  get inFlight(): number {
    return this.queue.length;
  }

  private cut(from: string, to: string): boolean {
    return this.cutBy(this.partition, this.nameOf(from), this.nameOf(to));
  }

  private cutBy(p: Partition, a: string, b: string): boolean {
    switch (p.kind) {
      case 'none':
        return false;
      case 'isolate':
        return (a === p.name) !== (b === p.name);
      case 'split':
        return p.side.has(a) !== p.side.has(b);
      case 'one-way':
        return a === p.from && b === p.to;
      case 'deaf':
        return b === p.name && a !== p.name;
      case 'sides':
        return (p.left.has(a) && p.right.has(b)) || (p.right.has(a) && p.left.has(b));
      case 'all':
        return p.parts.some((part) => this.cutBy(part, a, b));
      default: {
        const never: never = p;
        return never;
      }
    }
  }
}

/**
 * Freezes a sent message to the bottom (bytes aside: a typed array cannot be frozen), so that a
 * change to it afterwards throws. A broker never changes a message once it is out of the core:
 * the driver encodes a message sent to several peers once (broker/transport/links.ts), the whole-
 * broker simulator encodes it only at delivery, and this one hands the object itself over.
 */
function frozen(value: unknown): void {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Object.isFrozen(value)) return;
  for (const v of Object.values(value)) frozen(v);
  Object.freeze(value);
}
