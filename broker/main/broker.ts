/**
 * Wires one broker: the topic layer over its ordered stream, the server, and
 * the lifecycle (listen, drain, close). Owns no protocol logic of its own.
 */
import type { Logger } from 'pino';
import { startRooms } from './rooms-driver.js';
import { startSys } from './sys-driver.js';
import { randomBytes } from 'node:crypto';
import { CloseCode } from '../../client/protocol/index.js';
import { createServer } from '../server/index.js';
import { Topics, ViewLog, sysTopic } from '../topics/index.js';
import { ClusterNode, meshCoreDefaults, resolveSeeds } from '../mesh/index.js';
import { BrokerNode, type Replicas } from '../node/index.js';
import type { LogEntry } from '../core/index.js';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { Authenticator, JwtVerifier } from '../auth/index.js';
import { ConfigError, configDefaults, validateConfig, type BrokerConfig } from './config.js';

export interface BrokerHandle {
  /** WebSocket URL of the client endpoint, e.g. `ws://127.0.0.1:8080/ws`. */
  url: string;
  /** Base URL of the HTTP API. */
  httpUrl: string;
  port: number;
  host: string;
  /** `name#incarnation` (in a mesh, of the first incarnation). */
  brokerId: string;
  /** The port of broker links, in a mesh. */
  clusterPort?: number;
  /** The port serving /metrics, /livez and /readyz alone, with --internal-port. */
  internalPort?: number;
  config: BrokerConfig;
  /** Stop being ready, tell clients to move elsewhere (they resume), then stop. */
  close(): Promise<void>;
}

export type BrokerOptions = Partial<BrokerConfig>;

export interface BrokerHooks {
  /** Structured events (cluster views, founding, exclusion …). */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** The logger fastify writes to (HTTP request lines at debug). */
  logger?: Logger;
}

export async function startBroker(options: BrokerOptions = {}, hooks: BrokerHooks = {}): Promise<BrokerHandle> {
  const config = validateConfig({ ...configDefaults, ...options });
  const auth = await authenticatorFor(config);
  const tls = config.tlsCert === '' ? undefined : { cert: readConfigFile(config.tlsCert, 'TLS certificate'), key: readConfigFile(config.tlsKey, 'TLS key') };
  const clusterTls =
    config.clusterTlsCert === ''
      ? undefined
      : {
          cert: readConfigFile(config.clusterTlsCert, 'cluster TLS certificate'),
          key: readConfigFile(config.clusterTlsKey, 'cluster TLS key'),
          ...(config.clusterTlsCa === '' ? {} : { ca: readConfigFile(config.clusterTlsCa, 'cluster TLS CA') }),
        };
  const incarnation = Date.now().toString(36) + randomBytes(2).toString('hex');
  const mesh = config.seeds.length > 0 || config.seedsDns !== '';
  // Written synchronously, entry by entry: a broker killed with -9 leaves a true prefix of its log
  // (the checker reads it). A tool for tests and diagnosis, not for heavy production traffic.
  const coreLogFd = mesh && config.coreLog !== '' ? openSync(config.coreLog, 'a') : undefined;
  const topicSettings = {
    limits: {
      historyLengthMax: config.historyLengthMax,
      historyBytesMax: config.historyBytesMax,
      // `$sys` is read for its state (the latest snapshot of each broker): a short history is enough to resume.
      historyRules: [{ pattern: sysTopic, lengthMax: 10, bytesMax: 512 * 1024 }, ...config.historyRules],
      stateBytesMax: config.stateBytesMax,
      topicsMax: config.topicsMax,
    },
    payloadBytesMax: config.payloadBytesMax,
    presenceInfoBytesMax: config.presenceInfoBytesMax,
    topicBytesMax: config.topicBytesMax,
    subscriptionsMax: config.subscriptionsMax,
  };
  // In a mesh the broker is a BrokerNode — the core member, the topic table, the mesh stream and
  // the replicas, sans-I/O (broker/node) — driven over links and timers by a ClusterNode. Alone,
  // it is a topic layer that sequences its own commands.
  const brokerNode = mesh
    ? new BrokerNode({
        newId: () => `${config.name}#${Date.now().toString(36)}${randomBytes(2).toString('hex')}`,
        core: meshCoreDefaults,
        lwg: { lwgCount: config.lwgCount, replicas: config.lwgReplicas },
        groupWaitMs: config.lwgWaitSeconds * 1000,
        takeover: { messagesMin: config.takeoverMessages === 0 ? Infinity : config.takeoverMessages },
        claim: { bytesMin: config.claimBytes === 0 ? Infinity : config.claimBytes },
        topics: topicSettings,
        now: Date.now,
        defer: queueMicrotask,
        ...(hooks.log === undefined ? {} : { log: hooks.log }),
        ...(coreLogFd === undefined ? {} : { coreLog: (entry: LogEntry) => writeSync(coreLogFd, `${JSON.stringify(entry)}\n`) }),
      })
    : undefined;
  const topics = brokerNode?.topics ?? new Topics({ ...topicSettings, now: Date.now, defer: queueMicrotask, newEpoch: () => randomBytes(6).toString('base64url') });
  let node: ClusterNode | undefined;
  const brokerIdNow = (): string => brokerNode?.id ?? `${config.name}#${incarnation}`;
  let draining = false;
  let primary = !mesh;
  const views = new ViewLog();
  const startedAt = Date.now();
  const { app, gateway, metrics, internal } = await createServer({
    brokerId: `${config.name}#${incarnation}`,
    ...(hooks.logger === undefined ? {} : { logger: hooks.logger }),
    topics,
    limits: {
      frameBytesMax: config.frameBytesMax,
      frameMessagesMax: config.frameMessagesMax,
      payloadBytesMax: config.payloadBytesMax,
      stateBytesMax: config.stateBytesMax,
      subscriptionsMax: config.subscriptionsMax,
      topicBytesMax: config.topicBytesMax,
      presenceInfoBytesMax: config.presenceInfoBytesMax,
    },
    connectionsMax: config.connectionsMax,
    session: { outboundBytesMax: config.outboundBytesMax, outboundAgeMaxMs: config.outboundAgeMaxMs, frameBytesOutMax: Math.max(64 * 1024, config.frameBytesMax) },
    helloTimeoutMs: config.helloTimeoutMs,
    pingIntervalMs: config.pingIntervalMs,
    isReady: () => !draining && primary,
    isAccepting: () => !draining && primary,
    auth,
    rates: { publishesPerSecond: config.ratePublishes, bytesPerSecond: config.rateBytes, subscribesPerSecond: config.rateSubscribes },
    connectionsPerIp: config.connectionsPerIp,
    pending: { pendingMax: config.pendingMax, pendingPerAddress: config.pendingPerIp },
    helloBytesMax: config.helloBytesMax,
    conflate: config.conflate,
    internalOperations: config.internalPort >= 0,
    httpRequestsPerSecond: config.rateHttp,
    ...(tls === undefined ? {} : { tls }),
    ...(mesh ? { sessionPrefix: () => `${brokerIdNow()}/`, cluster: () => clusterInfo(node, brokerNode!, primary, topics) } : {}),
  });
  await app.listen({ host: config.host, port: config.port });
  let internalPort: number | undefined;
  if (internal !== undefined) {
    await internal.listen({ host: config.internalHost, port: config.internalPort });
    const a = internal.server.address();
    internalPort = typeof a === 'object' && a !== null ? a.port : config.internalPort;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  let clusterPort: number | undefined;
  if (mesh) {
    const advertise = config.clusterAdvertise !== '' ? config.clusterAdvertise : config.clusterPort === 0 ? undefined : `${shownHost}:${config.clusterPort}`;
    if (config.seeds.length > 0 && advertise !== undefined && !config.seeds.includes(advertise)) {
      await app.close();
      throw new ConfigError(
        `this broker's cluster address ${advertise} is not in --seeds (${config.seeds.join(',')}): set --cluster-advertise to the address the seed list uses for it`,
      );
    }
    node = new ClusterNode({
      name: config.name,
      secret: config.clusterSecret,
      host: config.host,
      port: config.clusterPort,
      ...(advertise === undefined ? {} : { advertise }),
      seeds: config.seeds,
      ...(clusterTls === undefined ? {} : { tls: clusterTls }),
      ...(config.seedsDns === '' ? {} : { reseed: () => resolveSeeds(config.seedsDns, config.clusterPort), founder: config.name.endsWith('-0') }),
      node: brokerNode!,
      // A new incarnation starts from nothing and loads its copies again: a session served by the
      // old copies would see them replaced (a jump, or seqs again). Every session is closed, so
      // its client resumes — elsewhere, or here once this broker is back in a primary view.
      onIncarnation: () => {
        if (!draining) gateway.closeAll(CloseCode.NotReady, 'this broker rejoins the group as a new incarnation: reconnect and resume');
      },
      onView: (view) => views.add(view, Date.now()),
      onPerformed: () => gateway.flushSoon(),
      onResync: (reason) => {
        if (!draining) gateway.closeAll(CloseCode.NotReady, reason);
      },
      onPrimary: (p) => {
        primary = p;
        // Outside the primary view: send clients to a broker inside it (they resume there).
        if (!p && !draining) gateway.closeAll(CloseCode.NotReady, 'this broker is outside the primary view: reconnect elsewhere');
      },
      ...(hooks.log === undefined ? {} : { log: hooks.log }),
      onRefused: (reason) => {
        metrics.linksRefused.inc({ reason: reason === 'tls' ? 'tls' : reason.includes('peer protocol') ? 'protocol' : reason.includes('secret') ? 'secret' : reason.includes('frame') ? 'frame' : 'handshake' });
        hooks.log?.('cluster-link-refused', { reason });
      },
    });
    if (clusterTls !== undefined && clusterTls.ca === undefined) {
      hooks.log?.('cluster-tls-without-ca', { warning: 'broker links are encrypted but peers are not verified by certificate; set --cluster-tls-ca for mutual TLS' });
    }
    clusterPort = await node.start();
    const tickSeconds = node.tickMs / 1000;
    const figures = brokerNode!.figures;
    metrics.setCluster(() => ({
      primary,
      viewId: node?.view?.id ?? 0,
      members: node?.view?.members.length ?? 0,
      lwg: brokerNode!.replicas.figures.counts,
      streamTakeovers: brokerNode!.stream.takeovers.askedTotal,
      groupClaims: brokerNode!.replicas.claims.claimedTotal,
      takeLoadTimes: () => brokerNode!.replicas.figures.takeLoadTimes().map((ms) => ms / 1000),
      linkBytes: node!.links.bytes,
      core: {
        retransmitted: figures.retransmitted,
        suspicions: figures.suspicions,
        views: figures.views,
        takeFlushes: () => figures.takeFlushes().map((ticks) => ticks * tickSeconds),
        unstableMessages: brokerNode!.member.channel.heldCount,
        unstableBytes: brokerNode!.member.channel.heldBytes,
      },
    }));
  }

  const rooms =
    config.rooms.length === 0
      ? undefined
      : startRooms({
          topics,
          config: { patterns: config.rooms, emptyMs: config.roomEmptyMs },
          payloadBytesMax: config.payloadBytesMax,
          leads: brokerNode === undefined ? () => true : (topic) => brokerNode.leads(topic),
          leadership: () => brokerNode?.leadership(),
          ...(hooks.log === undefined ? {} : { log: hooks.log }),
        });
  const httpUrl = `${tls === undefined ? 'http' : 'https'}://${shownHost}:${port}`;
  if (!mesh) views.add({ id: 1, members: [brokerIdNow()], primary: true }, startedAt);
  // The admin page's live figures (docs/admin.md), published while someone watches.
  const sys = startSys({
    topics,
    metrics,
    id: brokerIdNow,
    name: config.name,
    http: httpUrl,
    startedAt,
    mode: mesh ? 'mesh' : 'single',
    ready: () => !draining && primary,
    view: () => {
      const view = brokerNode === undefined ? { id: 1, members: [brokerIdNow()], primary: true } : brokerNode.view;
      return view === undefined ? null : { id: view.id, members: [...view.members], primary: view.primary };
    },
    views,
    connections: () => gateway.sessionCount,
    leads: () => brokerNode?.leads(sysTopic) ?? true,
    ...(brokerNode === undefined
      ? {}
      : {
          lwg: { count: config.lwgCount, replicas: config.lwgReplicas, lwgOf: (topic) => brokerNode.replicas.lwgOf(topic), table: () => brokerNode.groups() },
          tellPeers: () => brokerNode.watchSys(),
        }),
    ...(hooks.log === undefined ? {} : { log: hooks.log }),
  });
  if (brokerNode !== undefined) brokerNode.onSysWatch = () => sys.peerWatches();
  let closing: Promise<void> | undefined;
  return {
    url: `${tls === undefined ? 'ws' : 'wss'}://${shownHost}:${port}/ws`,
    httpUrl,
    port,
    host: config.host,
    brokerId: brokerIdNow(),
    config,
    ...(clusterPort === undefined ? {} : { clusterPort }),
    ...(internalPort === undefined ? {} : { internalPort }),
    close() {
      closing ??= (async () => {
        draining = true;
        rooms?.stop();
        sys.stop();
        brokerNode?.setDraining();
        gateway.closeAll(CloseCode.Draining, 'broker shutting down: reconnect elsewhere');
        await node?.close();
        await app.close();
        if (coreLogFd !== undefined) closeSync(coreLogFd);
      })();
      return closing;
    },
  };
}

/** `GET /api/v1/cluster` in a mesh: the view, roles, and each lightweight group's owners, holders and members. */
function clusterInfo(node: ClusterNode | undefined, brokerNode: BrokerNode, primary: boolean, topics: Topics): unknown {
  const view = node?.view;
  const replicas = brokerNode.replicas;
  const lwgCount = replicas.table.config.lwgCount;
  const topicCounts = new Array<number>(lwgCount).fill(0);
  for (const name of topics.table.names()) topicCounts[replicas.lwgOf(name)]!++;
  return {
    broker: node?.member?.id,
    mode: 'mesh',
    ready: primary,
    view: view === undefined ? null : { id: view.id, members: view.members, primary: view.primary },
    coordinator: view?.members[0] ?? null,
    views: node?.viewsTotal ?? 0,
    replicas: replicas.table.config.replicas,
    kept: { ...replicas.figures.counts, topics: topicCounts.reduce((a, b) => a + b, 0) },
    // `topics`: how many of the group's topics this broker keeps now.
    // `sequencer`: the broker sequencing the group's stream now (a broker that takes most of its
    // publishes takes it over, docs/mesh.md).
    lwgs: view === undefined ? [] : brokerNode.groups().map((info) => ({ ...info, topics: topicCounts[info.lwg] })),
  };
}

/** The authenticator the configuration asks for (anonymous mode unless --auth jwt). */
async function authenticatorFor(config: BrokerConfig): Promise<Authenticator> {
  const origins = config.origins.includes('*') ? '*' : config.origins.length > 0 ? config.origins : config.auth === 'none' ? '*' : [];
  const common = { origins, tokenGraceMs: config.tokenGraceMs, ...(config.apiKey === '' ? {} : { apiKey: config.apiKey }) } as const;
  if (config.auth === 'none') return new Authenticator(common);
  try {
    const verifier = await JwtVerifier.create({
      leewaySeconds: config.jwtLeewaySeconds,
      ...(config.jwtSecret === '' ? {} : { secret: config.jwtSecret }),
      ...(config.jwtPublicKey === '' ? {} : { publicKeyPem: readConfigFile(config.jwtPublicKey, 'JWT public key') }),
      ...(config.jwtJwks === '' ? {} : { jwks: JSON.parse(readConfigFile(config.jwtJwks, 'JWKS file')) as JSONWebKeySet }),
      ...(config.jwtIssuer === '' ? {} : { issuer: config.jwtIssuer }),
      ...(config.jwtAudience === '' ? {} : { audience: config.jwtAudience }),
    });
    return new Authenticator({ ...common, verifier });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`JWT configuration: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A file named by the configuration (a key, a certificate …); a missing one stops start-up with its name. */
function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the ${what} ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
