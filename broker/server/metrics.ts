/**
 * The broker's Prometheus metrics, in a registry of its own (no global
 * singleton: several brokers can live in one process, as tests do). Names
 * carry the `chorus_` prefix and base units; no label takes unbounded values.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Why an inbound frame or message was refused; a closed set, so a safe label. */
export const ProtocolErrorReason = {
  TextFrame: 'text_frame',
  Malformed: 'malformed',
  NotArray: 'not_array',
  BadValue: 'bad_value',
  TooDeep: 'too_deep',
  BadMessage: 'bad_message',
  UnknownType: 'unknown_type',
  HelloRequired: 'hello_required',
  BadVersion: 'bad_version',
  FrameTooBig: 'frame_too_big',
  Unauthorized: 'unauthorized',
  Origin: 'origin',
  TooManyMessages: 'too_many_messages',
  HelloTooBig: 'hello_too_big',
} as const;
export type ProtocolErrorReason = (typeof ProtocolErrorReason)[keyof typeof ProtocolErrorReason];

/** Live figures the metrics read at scrape time. */
export interface MetricSources {
  topics(): number;
  subscriptions(): number;
  /** Messages handed to local subscribers so far (monotone). */
  delivered(): number;
}

/** The mesh's figures, read at scrape time. */
export interface ClusterFigures {
  primary: boolean;
  viewId: number;
  members: number;
  /** Monotone counts of the lightweight-group layer (broker/mesh/replicas.ts). */
  lwg: { filtered: number; stubs: number; snapshotsSent: number; snapshotsLoaded: number; lost: number; waits: number; refused: number; snapshotBytesSent: number; snapshotBytesLoaded: number };
  /** Take-overs of a group's stream this broker asked for so far (broker/node/takeover-policy.ts). */
  streamTakeovers: number;
  /** Claims of a lightweight group this broker said, to own it (claim-policy.ts). */
  groupClaims: number;
  /** How long each lightweight-group or topic load took since the last read, seconds. */
  takeLoadTimes(): number[];
  /** Bytes on broker links so far. */
  linkBytes: { out: number; in: number };
  /** The core group member's counts (broker/core/figures.ts), across incarnations. */
  core: {
    retransmitted: number;
    suspicions: number;
    views: number;
    /** Flush lengths since the last read, seconds. */
    takeFlushes(): number[];
    /** Messages received and not yet stable and delivered, and their payload bytes (about). */
    unstableMessages: number;
    unstableBytes: number;
  };
}

export class BrokerMetrics {
  readonly registry = new Registry();
  private sources: MetricSources = { topics: () => 0, subscriptions: () => 0, delivered: () => 0 };
  /** The last value seen of each monotone figure a counter follows (`follow`). */
  private readonly seen = new Map<string, number>();

  /**
   * Adds to `counter` what a monotone figure kept elsewhere (read at scrape time) grew by since the
   * last scrape; `key` names the figure (and its labels, if any).
   */
  private follow<L extends string>(counter: Counter<L>, key: string, now: number | undefined, labels?: Partial<Record<L, string>>): void {
    if (now === undefined) return;
    const before = this.seen.get(key) ?? 0;
    if (now > before) {
      if (labels === undefined) counter.inc(now - before);
      else counter.inc(labels, now - before);
    }
    this.seen.set(key, now);
  }
  readonly connections = new Gauge({ name: 'chorus_connections', help: 'Open client WebSocket connections (after hello).', registers: [this.registry] });
  readonly connectionsTotal = new Counter({ name: 'chorus_connections_total', help: 'Client WebSocket connections accepted.', registers: [this.registry] });
  readonly subscriptions: Gauge = new Gauge({
    name: 'chorus_subscriptions',
    help: 'Subscriptions held by local clients, patterns included.',
    registers: [this.registry],
    collect: (): void => this.subscriptions.set(this.sources.subscriptions()),
  });
  readonly topics: Gauge = new Gauge({
    name: 'chorus_topics',
    help: 'Topics held in memory.',
    registers: [this.registry],
    collect: (): void => this.topics.set(this.sources.topics()),
  });
  readonly messagesIn = new Counter({ name: 'chorus_messages_in_total', help: 'Publishes accepted and ordered.', labelNames: ['via'] as const, registers: [this.registry] });
  /** `messagesIn{via="ws"}`, bound once: the publish path does not hash its labels each time. */
  readonly wsPublishes = this.messagesIn.labels('ws');
  readonly messagesOut: Counter = new Counter({
    name: 'chorus_messages_out_total',
    help: 'Topic messages handed to local subscribers (one per subscriber).',
    registers: [this.registry],
    collect: (): void => this.follow(this.messagesOut, 'delivered', this.sources.delivered()),
  });
  readonly requestErrors = new Counter({
    name: 'chorus_request_errors_total',
    help: 'Requests answered with an error, by request type and error code (both closed sets).',
    labelNames: ['type', 'code'] as const,
    registers: [this.registry],
  });
  readonly protocolErrors = new Counter({ name: 'chorus_protocol_errors_total', help: 'Inbound frames or messages refused, by reason.', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly closes = new Counter({ name: 'chorus_closes_total', help: 'Client connections closed by the broker, by close code.', labelNames: ['code'] as const, registers: [this.registry] });
  readonly socketsRefused = new Counter({
    name: 'chorus_sockets_refused_total',
    help: 'TCP connections dropped before their upgrade: their address held its share of pre-upgrade sockets (address), or they were the oldest when the pre-upgrade budget ran out (shed).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly messagesConflated = new Counter({ name: 'chorus_messages_conflated_total', help: 'Events on conflated topics that a subscriber behind did not get because a newer one from the same publisher replaced them.', registers: [this.registry] });
  readonly slowConsumers = new Counter({ name: 'chorus_slow_consumers_total', help: 'Connections closed because their outbound queue passed its limit.', registers: [this.registry] });
  readonly framesOut = new Counter({ name: 'chorus_frames_out_total', help: 'WebSocket frames sent to clients.', registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'chorus_bytes_out_total', help: 'Bytes of WebSocket payload sent to clients.', registers: [this.registry] });
  readonly framesIn = new Counter({ name: 'chorus_frames_in_total', help: 'WebSocket frames received from clients.', registers: [this.registry] });
  readonly bytesIn = new Counter({ name: 'chorus_bytes_in_total', help: 'Bytes of WebSocket payload received from clients.', registers: [this.registry] });
  readonly deliverLatency = new Histogram({
    name: 'chorus_publish_deliver_seconds',
    help: 'From a publish being ordered to the frame that carries it being written to a subscriber socket (oldest message of each frame).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  private cluster: (() => ClusterFigures) | undefined;
  /** Follows a lightweight-group figure of the mesh (none when running alone). */
  private lwgDelta<L extends string>(key: keyof ClusterFigures['lwg'], counter: Counter<L>, labels?: Partial<Record<L, string>>): void {
    this.follow(counter, `lwg.${key}`, this.cluster?.().lwg[key], labels);
  }
  readonly lwgFiltered: Counter = new Counter({
    name: 'chorus_lwg_filtered_total',
    help: 'Topic commands this broker dropped on receipt because it keeps nothing of their topic (stubs included).',
    registers: [this.registry],
    collect: (): void => this.lwgDelta('filtered', this.lwgFiltered),
  });
  readonly lwgStubs: Counter = new Counter({
    name: 'chorus_lwg_stubs_total',
    help: 'Topic commands that reached this broker as ordering stubs, without their payload (it is outside their group).',
    registers: [this.registry],
    collect: (): void => this.lwgDelta('stubs', this.lwgStubs),
  });
  readonly lwgSnapshots: Counter<'direction'> = new Counter({
    name: 'chorus_lwg_snapshots_total',
    help: 'Snapshots of a lightweight group or topic sent to another broker or loaded from one.',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.lwgDelta('snapshotsSent', this.lwgSnapshots, { direction: 'sent' });
      this.lwgDelta('snapshotsLoaded', this.lwgSnapshots, { direction: 'loaded' });
    },
  });
  readonly lwgSnapshotBytes: Counter<'direction'> = new Counter({
    name: 'chorus_lwg_snapshot_bytes_total',
    help: 'Bytes (estimated, msgpack-like sizes) of the snapshots of lightweight groups or topics sent to another broker or loaded from one.',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.lwgDelta('snapshotBytesSent', this.lwgSnapshotBytes, { direction: 'sent' });
      this.lwgDelta('snapshotBytesLoaded', this.lwgSnapshotBytes, { direction: 'loaded' });
    },
  });
  readonly lwgLoadSeconds: Histogram = new Histogram({
    name: 'chorus_lwg_load_seconds',
    help: 'State transfers: from asking for a lightweight group or topic to serving it from the loaded snapshot.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
    collect: (): void => {
      for (const seconds of this.cluster?.().takeLoadTimes() ?? []) this.lwgLoadSeconds.observe(seconds);
    },
  });
  readonly lwgLost: Counter = new Counter({
    name: 'chorus_lwg_state_lost_total',
    help: 'Lightweight groups that started again empty: every complete copy left the view at once and none came back (docs/mesh.md, "Waiting groups").',
    registers: [this.registry],
    collect: (): void => this.lwgDelta('lost', this.lwgLost),
  });
  readonly lwgWaits: Counter = new Counter({
    name: 'chorus_lwg_waits_total',
    help: 'Lightweight groups whose every complete copy left the view at once, so that they waited (publishes refused) for one to come back.',
    registers: [this.registry],
    collect: (): void => this.lwgDelta('waits', this.lwgWaits),
  });
  readonly lwgRefused: Counter = new Counter({
    name: 'chorus_lwg_refused_total',
    help: 'Topic commands refused because their lightweight group was waiting for a copy (the publisher is told Unavailable and publishes again).',
    registers: [this.registry],
    collect: (): void => this.lwgDelta('refused', this.lwgRefused),
  });
  readonly lwgTakeovers: Counter = new Counter({
    name: 'chorus_lwg_takeovers_total',
    help: 'Times this broker took a lightweight group\'s stream over to order it itself, as it was taking nearly all of its publishes (docs/mesh.md, "Sequenced where published").',
    registers: [this.registry],
    collect: (): void => this.follow(this.lwgTakeovers, 'lwg.takeovers', this.cluster?.().streamTakeovers),
  });
  readonly lwgClaims: Counter = new Counter({
    name: 'chorus_lwg_claims_total',
    help: 'Claims of a lightweight group this broker said, to own it, as at least half of its traffic was taken or subscribed here (docs/mesh.md, "Owners that follow traffic").',
    registers: [this.registry],
    collect: (): void => this.follow(this.lwgClaims, 'lwg.claims', this.cluster?.().groupClaims),
  });
  readonly clusterPrimary: Gauge = new Gauge({
    name: 'chorus_cluster_primary',
    help: '1 while this broker is in a primary view of the mesh (1 when running alone).',
    registers: [this.registry],
    collect: (): void => this.clusterPrimary.set(this.cluster === undefined || this.cluster().primary ? 1 : 0),
  });
  readonly clusterViewId: Gauge = new Gauge({
    name: 'chorus_cluster_view_id',
    help: 'Id of the view this broker has installed (0 when running alone or between views).',
    registers: [this.registry],
    collect: (): void => this.clusterViewId.set(this.cluster?.().viewId ?? 0),
  });
  readonly clusterMembers: Gauge = new Gauge({
    name: 'chorus_cluster_members',
    help: 'Brokers in the installed view (1 when running alone).',
    registers: [this.registry],
    collect: (): void => this.clusterMembers.set(this.cluster?.().members ?? 1),
  });
  readonly linkBytes: Counter<'direction'> = new Counter({
    name: 'chorus_cluster_link_bytes_total',
    help: 'Bytes on broker-to-broker links, by direction (in, out).',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: (): void => {
      const bytes = this.cluster?.().linkBytes;
      for (const direction of ['in', 'out'] as const) this.follow(this.linkBytes, `link.${direction}`, bytes?.[direction], { direction });
    },
  });
  private coreDelta(key: 'retransmitted' | 'suspicions' | 'views', counter: Counter): void {
    this.follow(counter, `core.${key}`, this.cluster?.().core[key]);
  }
  readonly coreRetransmissions: Counter = new Counter({
    name: 'chorus_core_retransmissions_total',
    help: 'Core group messages sent again to a broker that had not acknowledged them in time.',
    registers: [this.registry],
    collect: (): void => this.coreDelta('retransmitted', this.coreRetransmissions),
  });
  readonly coreSuspicions: Counter = new Counter({
    name: 'chorus_core_suspicions_total',
    help: 'Times a broker of the view fell silent past the suspicion timeout, as this broker saw it.',
    registers: [this.registry],
    collect: (): void => this.coreDelta('suspicions', this.coreSuspicions),
  });
  readonly coreViews: Counter = new Counter({
    name: 'chorus_core_views_installed_total',
    help: 'Views of the mesh this broker installed.',
    registers: [this.registry],
    collect: (): void => this.coreDelta('views', this.coreViews),
  });
  readonly coreFlushSeconds: Histogram = new Histogram({
    name: 'chorus_core_flush_seconds',
    help: 'How long this broker stayed frozen in a view change (flush), until the next view was installed — counted in core ticks (10 ms): a flush that ends within its tick counts 0.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
    collect: (): void => {
      for (const seconds of this.cluster?.().core.takeFlushes() ?? []) this.coreFlushSeconds.observe(seconds);
    },
  });
  readonly coreUnstableMessages: Gauge = new Gauge({
    name: 'chorus_core_unstable_messages',
    help: 'Core group messages this broker holds until every broker of the view has them and they are delivered.',
    registers: [this.registry],
    collect: (): void => this.coreUnstableMessages.set(this.cluster?.().core.unstableMessages ?? 0),
  });
  readonly coreUnstableBytes: Gauge = new Gauge({
    name: 'chorus_core_unstable_bytes',
    help: 'Payload bytes (estimated) of the core group messages this broker holds unstable.',
    registers: [this.registry],
    collect: (): void => this.coreUnstableBytes.set(this.cluster?.().core.unstableBytes ?? 0),
  });
  readonly linksRefused = new Counter({
    name: 'chorus_cluster_links_refused_total',
    help: 'Broker links refused, by reason (handshake, secret, frame, tls).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'chorus_auth_failures_total',
    help: 'Credentials refused (missing, malformed, signature, expired, claims, api-key) and requests a valid credential does not allow (forbidden), by way (ws, http).',
    labelNames: ['via', 'reason'] as const,
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({ name: 'chorus_build_info', help: 'Always 1; the labels say which build runs.', labelNames: ['version', 'commit', 'node'] as const, registers: [this.registry] });

  constructor(build: { version: string; commit: string } = { version: 'unknown', commit: 'unknown' }) {
    // Process and Node.js metrics under their usual names (process_cpu_seconds_total …), as
    // dashboards and alerts written for any Node service expect. prom-client's three
    // `nodejs_active_*_total` gauges are dropped: a gauge named `_total` breaks the naming rules
    // (promtool check metrics); `nodejs_active_handles` and `nodejs_active_requests` stay.
    collectDefaultMetrics({ register: this.registry });
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    this.buildInfo.set({ version: build.version, commit: build.commit, node: process.version }, 1);
  }

  setCluster(source: () => ClusterFigures): void {
    this.cluster = source;
  }

  setSources(sources: MetricSources): void {
    this.sources = sources;
  }
}
