/**
 * What this broker keeps of the lightweight groups: the groups it holds and
 * the topics it wants, each with its phase (replica-load.ts), and the
 * questions and moves about them that replicas.ts makes. Pure bookkeeping:
 * no I/O, no controls sent from here.
 */
import type { Held, Wanted } from './replica-load.js';

export class Kept {
  readonly held = new Map<number, Held>();
  readonly wanted = new Map<string, Wanted>();

  constructor(private readonly lwgOf: (topic: string) => number) {}

  /** A complete copy of the group is here (its `unhold` may be on its way). */
  serves(g: number): boolean {
    return this.held.get(g)?.phase === 'complete';
  }

  /** A subscriber may be served `topic` now: its copy is current and stays so. */
  keeps(topic: string): boolean {
    const h = this.held.get(this.lwgOf(topic));
    if (h?.phase === 'loading') return false;
    if (this.wanted.get(topic)?.phase === 'active') return true;
    return h?.phase === 'complete' && !h.releasing;
  }

  /** Every group served and none being let go (what a wildcard subscriber needs). */
  keepsAll(groups: readonly number[]): boolean {
    return groups.every((g) => this.serves(g) && this.held.get(g)?.releasing !== true);
  }

  /** This broker keeps (or is loading) anything of the group: it belongs in the stream's audience. */
  interested(g: number): boolean {
    if (this.held.has(g)) return true;
    for (const t of this.wanted.keys()) if (this.lwgOf(t) === g) return true;
    return false;
  }

  /** The wanted topics of group `g`, with their state. */
  wantsIn(g: number): Array<[string, Wanted]> {
    return [...this.wanted].filter(([topic]) => this.lwgOf(topic) === g);
  }

  /** Topics of `g` kept (active) here now. */
  activeIn(g: number): string[] {
    return this.wantsIn(g).flatMap(([topic, w]) => (w.phase === 'active' ? [topic] : []));
  }

  /** Marks the wants of `g` in one of `phases` active (the group's copy covers them, or they are current). */
  activate(g: number, phases: ReadonlyArray<Wanted['phase']>): void {
    for (const [topic, w] of this.wantsIn(g)) if (phases.includes(w.phase)) this.wanted.set(topic, { phase: 'active', n: w.n });
  }

  activateTopic(topic: string): void {
    const w = this.wanted.get(topic);
    if (w !== undefined) this.wanted.set(topic, { phase: 'active', n: w.n });
  }

  clear(): void {
    this.held.clear();
    this.wanted.clear();
  }
}
