/**
 * The driver of `$sys` (broker/topics/sys.ts, docs/admin.md): about once a second, while someone
 * watches, this broker publishes a snapshot of its figures to `$sys` as a merge patch of its own
 * entry, so that a subscriber at any broker sees every broker of the mesh.
 *
 * Watching: a broker with a local subscriber to `$sys` publishes, and tells every other broker of
 * its view so with a peer note each second (BrokerNode.watchSys); a broker told so publishes for
 * `watchTtlMs` after the last note. Nobody watching, nothing is published or sampled.
 *
 * The broker that leads `$sys`'s stream (its group's first owner; the broker itself when alone) also sends
 * the lightweight-group table, and removes the entries of brokers that are no longer in the view
 * (a broker killed says nothing): its patch sets them to null.
 */
import type { LwgInfo } from '../../lightweight-groups/index.js';
import type { BrokerMetrics } from '../server/index.js';
import {
  CounterRate,
  LatencyWindow,
  TopicRates,
  groupsShownMax,
  sysTopic,
  type Buckets,
  type SysPatch,
  type SysSnapshot,
  type SysView,
  type Topics,
  type ViewLog,
} from '../topics/index.js';

export interface SysDriverOptions {
  topics: Topics;
  metrics: BrokerMetrics;
  /** This broker's member id now (name#incarnation). */
  id: () => string;
  name: string;
  http: string;
  startedAt: number;
  mode: 'mesh' | 'single';
  ready: () => boolean;
  view: () => SysView | null;
  views: ViewLog;
  connections: () => number;
  /** The lightweight groups (in a mesh). */
  lwg?: { count: number; replicas: number; lwgOf: (topic: string) => number; table: () => LwgInfo[] };
  /** Whether this broker leads `$sys`'s stream now (true when alone). */
  leads: () => boolean;
  /** Tells the other brokers that someone here watches (in a mesh). */
  tellPeers?: () => void;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** How often a snapshot goes out while watched, ms. */
export const sysTickMs = 1000;
/** How long a note from a watching peer keeps this broker publishing, ms. */
const watchTtlMs = 3500;

export interface SysDriver {
  /** A peer has a subscriber to `$sys`. */
  peerWatches(): void;
  stop(): void;
}

export function startSys(options: SysDriverOptions): SysDriver {
  const { topics, metrics } = options;
  const rates = { in: new CounterRate(), out: new CounterRate(), bytesIn: new CounterRate(), bytesOut: new CounterRate() };
  const topicRates = new TopicRates();
  const latency = new LatencyWindow();
  let peerWatchUntil = 0;
  let sampling = false;
  let busy = false;
  let failing = false;
  let version = 'unknown';
  void metrics.buildInfo.get().then((m) => (version = String(m.values[0]?.labels['version'] ?? 'unknown')));

  const tick = async (): Promise<void> => {
    const now = Date.now();
    const local = topics.index.subscriberCount(sysTopic);
    if (local > 0) options.tellPeers?.();
    if (local === 0 && now >= peerWatchUntil) {
      if (sampling) {
        // Nobody watches: figures kept between snapshots are let go (rates start again from zero).
        sampling = false;
        for (const r of Object.values(rates)) r.reset();
        topicRates.reset();
        latency.reset();
      }
      return;
    }
    sampling = true;
    const snapshot = await take(now);
    const patch: SysPatch = { brokers: { [snapshot.id]: snapshot } };
    if (options.leads()) for (const gone of departed(snapshot.view)) patch.brokers[gone] = null;
    topics.publishSystem({ topic: sysTopic, kind: 'patch', data: patch }, (result) => {
      if (result.ok) {
        failing = false;
        return;
      }
      // Outside a primary view, or a snapshot over the payload limit: said once, tried each tick.
      if (!failing) options.log?.('sys-snapshot-refused', { message: result.message });
      failing = true;
    });
  };

  /** Entries of `$sys` for brokers not in the view (only a copy that keeps `$sys` can tell). */
  const departed = (view: SysView | null): string[] => {
    const brokers = (topics.table.get(sysTopic)?.state as { brokers?: Record<string, unknown> } | null | undefined)?.brokers;
    if (brokers === undefined || brokers === null || typeof brokers !== 'object' || view === null) return [];
    return Object.keys(brokers).filter((id) => !view.members.includes(id));
  };

  const take = async (now: number): Promise<SysSnapshot> => {
    const [messagesIn, bytesIn, bytesOut, histogram] = await Promise.all([metrics.messagesIn.get(), metrics.bytesIn.get(), metrics.bytesOut.get(), metrics.deliverLatency.get()]);
    const sum = (m: { values: Array<{ value: number }> }): number => m.values.reduce((a, v) => a + v.value, 0);
    const buckets: Buckets = histogram.values
      .filter((v) => v.metricName?.endsWith('_bucket') === true)
      .map((v) => [v.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels['le']), v.value]);
    const lwg = options.lwg;
    const perGroup = new Map<number, number>();
    function* seqs(): Generator<[string, number]> {
      for (const name of topics.table.names()) {
        if (lwg !== undefined) {
          const g = lwg.lwgOf(name);
          perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
        }
        if (name === sysTopic) continue;
        yield [name, topics.table.get(name)?.seq ?? 0];
      }
    }
    const top = topicRates.sample(now, seqs());
    const view = options.view();
    const leader = options.leads();
    const groups = lwg === undefined || !leader ? null : groupRows(lwg.table());
    return {
      v: 1,
      id: options.id(),
      name: options.name,
      at: now,
      startedAt: options.startedAt,
      version,
      http: options.http,
      mode: options.mode,
      ready: options.ready(),
      view,
      // Copies: a published value may be kept as the topic's state, and the log changes.
      views: options.views.views.map((v) => ({ ...v, members: [...v.members] })),
      connections: options.connections(),
      subscriptions: topics.index.subscriptionCount,
      topics: topics.table.size,
      rates: {
        in: round(rates.in.sample(now, sum(messagesIn))),
        out: round(rates.out.sample(now, topics.index.deliveredTotal)),
        bytesIn: Math.round(rates.bytesIn.sample(now, sum(bytesIn))),
        bytesOut: Math.round(rates.bytesOut.sample(now, sum(bytesOut))),
      },
      latency: latency.sample(now, buckets),
      top,
      lwg: lwg === undefined ? null : { count: lwg.count, replicas: lwg.replicas, topics: [...perGroup].sort((a, b) => a[0] - b[0]) },
      groups: groups?.rows ?? null,
      groupsPartial: groups?.partial ?? false,
    };
  };

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch((err: unknown) => options.log?.('sys-snapshot-failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (busy = false));
  }, sysTickMs);
  timer.unref();
  return {
    peerWatches() {
      peerWatchUntil = Date.now() + watchTtlMs;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** The table as rows; beyond `groupsShownMax` groups only those not settled (holders other than the owners, loading, or wanted). */
function groupRows(table: LwgInfo[]): { rows: NonNullable<SysSnapshot['groups']>; partial: boolean } {
  const rows: NonNullable<SysSnapshot['groups']> = [];
  for (const info of table) {
    const holders = new Set(info.holders.map((h) => h.broker));
    const ready = info.holders.filter((h) => h.ready).map((h) => h.broker);
    const loading = info.holders.filter((h) => !h.ready).map((h) => h.broker);
    const wanters = info.members.filter((m) => !holders.has(m));
    const settled = loading.length === 0 && wanters.length === 0 && ready.length === info.owners.length && info.owners.every((o) => holders.has(o));
    if (table.length > groupsShownMax && settled) continue;
    rows.push([info.lwg, [...info.owners], ready, loading, wanters, info.sequencer]);
  }
  return { rows, partial: rows.length < table.length };
}
