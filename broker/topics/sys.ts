/**
 * `$sys`: the system topic of the admin page (docs/admin.md). Each broker publishes a snapshot of
 * its own figures to it about once a second while someone watches, as a merge patch
 * `{ brokers: { <member id>: snapshot } }`, so the topic's state holds the latest snapshot of
 * every broker of the mesh, and any broker's subscriber sees the whole mesh. Only brokers publish
 * to it; reading it takes the API key or a grant that names it (broker/auth/permissions.ts).
 *
 * This file is the pure part: the snapshot's shape and the figures kept between snapshots (message
 * rates from counters, per-topic rates from topic seqs, latency quantiles from a histogram's
 * buckets). Time comes in as `now`; the driver (broker/main/sys-driver.ts) reads the sources and
 * publishes.
 */

/** The admin topic. */
export const sysTopic = '$sys';

/** A view as the snapshot shows it. */
export interface SysView {
  id: number;
  members: string[];
  primary: boolean;
}

/**
 * One broker's figures. Every key is always present (a merge patch replaces each one, so the
 * broker's entry in the state is exactly its latest snapshot); lists are arrays (replaced whole).
 * A value that is null in the patch is absent in the state: readers treat absent as null.
 */
export interface SysSnapshot {
  /** Format version. */
  v: 1;
  /** Member id, `name#incarnation`. */
  id: string;
  name: string;
  /** When it was taken, ms since the epoch by this broker's clock. */
  at: number;
  startedAt: number;
  version: string;
  /** This broker's HTTP base URL as it sees itself (its address may differ behind a proxy). */
  http: string;
  mode: 'mesh' | 'single';
  /** In a primary view (or alone), not draining. */
  ready: boolean;
  view: SysView | null;
  /** Views this broker installed, the latest last, each with when (its clock). */
  views: Array<SysView & { at: number }>;
  connections: number;
  subscriptions: number;
  /** Topics this broker keeps. */
  topics: number;
  /** Per second over the last `windowMs`: publishes taken here (in), messages handed to local subscribers (out), client bytes. */
  rates: { in: number; out: number; bytesIn: number; bytesOut: number };
  /** Publish-to-deliver latency over the last `windowMs`, seconds (from the histogram's buckets); null without deliveries. */
  latency: { p50: number | null; p99: number | null; count: number };
  /** The busiest topics this broker keeps: name, messages per second, seq. */
  top: Array<[topic: string, perSecond: number, seq: number]>;
  /** The lightweight groups: how many, owners each, and how many topics of each this broker keeps (non-zero only). */
  lwg: { count: number; replicas: number; topics: Array<[lwg: number, topics: number]> } | null;
  /**
   * The replicated lightweight-group table, sent by one broker only (the one that leads `$sys`'s
   * stream): per group its owners (claiming brokers first: docs/mesh.md), ready holders,
   * loading holders, the brokers that want one of its topics, and the broker sequencing its stream
   * now (an owner, a broker that took the stream over, or where the view placed it when others
   * claimed the group: docs/mesh.md). Beyond `groupsShownMax`
   * groups only the unsettled ones.
   */
  groups: Array<[lwg: number, owners: string[], ready: string[], loading: string[], wanters: string[], sequencer: string]> | null;
  /** More groups than shown (settled ones left out). */
  groupsPartial: boolean;
}

/** The patch one broker publishes (its snapshot), with brokers to remove (null). */
export type SysPatch = { brokers: Record<string, SysSnapshot | null> };

/** The window rates and quantiles are taken over, ms. */
export const windowMs = 10_000;
/** Topics listed in `top`. */
export const topTopicsMax = 10;
/** Groups listed in full; beyond it only those not settled. */
export const groupsShownMax = 256;
/** Views remembered in `views`. */
export const viewsKept = 10;

/** A monotone counter sampled over time: its rate per second across a sliding window. */
export class CounterRate {
  private readonly samples: Array<[at: number, value: number]> = [];

  sample(now: number, value: number): number {
    this.samples.push([now, value]);
    while (this.samples.length > 2 && now - this.samples[1]![0] >= windowMs) this.samples.shift();
    const [at0, v0] = this.samples[0]!;
    return now > at0 ? Math.max(0, ((value - v0) * 1000) / (now - at0)) : 0;
  }

  reset(): void {
    this.samples.length = 0;
  }
}

/**
 * Messages per second of each topic from its seq between two samples (one seq per message, so the
 * difference counts messages, whoever published them). A topic seen for the first time counts
 * from the next sample; a topic gone is forgotten.
 */
export class TopicRates {
  private last = new Map<string, number>();
  private lastAt: number | undefined;

  /** The `max` busiest topics since the last sample (fastest first, then by name); `topics` yields [name, seq]. */
  sample(now: number, topics: Iterable<[string, number]>, max = topTopicsMax): Array<[string, number, number]> {
    const seconds = this.lastAt === undefined ? 0 : (now - this.lastAt) / 1000;
    const next = new Map<string, number>();
    const top: Array<[string, number, number]> = [];
    for (const [name, seq] of topics) {
      next.set(name, seq);
      const before = this.last.get(name);
      if (before === undefined || seconds <= 0 || seq <= before) continue;
      const rate = (seq - before) / seconds;
      if (top.length < max) {
        top.push([name, rate, seq]);
        if (top.length === max) top.sort(byRate);
      } else if (rate > top[max - 1]![1]) {
        top[max - 1] = [name, rate, seq];
        top.sort(byRate);
      }
    }
    this.last = next;
    this.lastAt = now;
    return top.sort(byRate).map(([name, rate, seq]) => [name, Math.round(rate * 10) / 10, seq]);
  }

  reset(): void {
    this.last = new Map();
    this.lastAt = undefined;
  }
}

function byRate(a: [string, number, number], b: [string, number, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/** A histogram's cumulative buckets: upper bound (seconds, +Inf last) → observations at or below it. */
export type Buckets = Array<[le: number, count: number]>;

/**
 * Quantiles of a cumulative histogram over a sliding window: the difference between the newest
 * and the oldest sample in the window, read as Prometheus' `histogram_quantile` does (linear
 * within a bucket; the last finite bound when it falls in +Inf).
 */
export class LatencyWindow {
  private readonly samples: Array<[at: number, buckets: Buckets]> = [];

  sample(now: number, buckets: Buckets): { p50: number | null; p99: number | null; count: number } {
    this.samples.push([now, buckets]);
    while (this.samples.length > 2 && now - this.samples[1]![0] >= windowMs) this.samples.shift();
    const first = this.samples[0]![1];
    const diff: Buckets = buckets.map(([le, count], i) => [le, Math.max(0, count - (first[i]?.[0] === le ? first[i]![1] : 0))]);
    // The first sample has nothing before it: the window starts empty.
    if (this.samples.length === 1) for (const b of diff) b[1] = 0;
    return { p50: quantile(0.5, diff), p99: quantile(0.99, diff), count: diff.at(-1)?.[1] ?? 0 };
  }

  reset(): void {
    this.samples.length = 0;
  }
}

/** `histogram_quantile(q, buckets)`: null when nothing was observed. */
export function quantile(q: number, buckets: Buckets): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lowerBound;
      if (count === lowerCount) return le;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/** The views a broker installed, the latest last (at most `viewsKept`). */
export class ViewLog {
  readonly views: Array<SysView & { at: number }> = [];

  add(view: SysView, at: number): void {
    this.views.push({ id: view.id, members: [...view.members], primary: view.primary, at });
    if (this.views.length > viewsKept) this.views.shift();
  }
}
