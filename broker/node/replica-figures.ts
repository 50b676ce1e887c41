/**
 * What the lightweight-group layer counts for operators (broker/server/metrics.ts reads it at
 * scrape time): deliveries dropped on receipt, state transfers and their sizes and durations,
 * groups lost. Counting decides nothing.
 */
import { approxSize } from './sizes.js';

export class ReplicaFigures {
  /** Monotone counts. */
  readonly counts = { filtered: 0, stubs: 0, snapshotsSent: 0, snapshotsLoaded: 0, lost: 0, waits: 0, refused: 0, snapshotBytesSent: 0, snapshotBytesLoaded: 0 };
  /** How long each load took (ms), since the last `takeLoadTimes`; at most 64 kept. */
  private readonly loadTimes: number[] = [];

  sent(snapshot: unknown): void {
    this.counts.snapshotsSent++;
    this.counts.snapshotBytesSent += approxSize(snapshot);
  }

  loaded(snapshot: unknown, tookMs: number): void {
    this.counts.snapshotsLoaded++;
    this.counts.snapshotBytesLoaded += approxSize(snapshot);
    if (this.loadTimes.length < 64) this.loadTimes.push(tookMs);
  }

  takeLoadTimes(): number[] {
    return this.loadTimes.splice(0);
  }
}
