/**
 * What a member counts about itself, for operators (broker/server/metrics.ts reads it at scrape
 * time): monotone counts, and the durations of the flushes it took part in, in ticks (the
 * runtime knows how long a tick is). Counting decides nothing; the simulator ignores it.
 */
export class CoreFigures {
  /** Data messages sent again to a member that had not acknowledged them in time. */
  retransmitted = 0;
  /** Times a member of the view became silent too long in this member's eyes. */
  suspicions = 0;
  /** Views installed (the first one included). */
  views = 0;
  /** Flushes this member went through (frozen, then a view installed). */
  flushes = 0;
  /** Their total length, in ticks. */
  flushTicks = 0;
  /** Completed flush lengths not yet read (`takeFlushes`), oldest first, at most 64 kept. */
  private readonly recentFlushes: number[] = [];
  /** Members found silent at the last tick, so that a suspicion counts once. */
  private silent = new Set<string>();

  flushed(ticks: number): void {
    this.flushes++;
    this.flushTicks += ticks;
    if (this.recentFlushes.length < 64) this.recentFlushes.push(ticks);
  }

  /** Flush lengths since the last call (a histogram observes each). */
  takeFlushes(): number[] {
    return this.recentFlushes.splice(0);
  }

  /** The members this member now finds silent too long; counts those that were not before. */
  silentNow(members: readonly string[]): void {
    // Called every tick: nothing silent now or before is the usual case, and allocates nothing.
    if (members.length === 0 && this.silent.size === 0) return;
    for (const m of members) if (!this.silent.has(m)) this.suspicions++;
    this.silent = new Set(members);
  }
}
