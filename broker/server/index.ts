/**
 * broker/server — the broker's network face: fastify serving the WebSocket
 * endpoint `/ws`, the HTTP API, `/metrics`, `/livez`, `/readyz` and the
 * browser client bundle at `/client.js`.
 *
 * Contract: owns sockets and HTTP; hands requests to broker/topics; never lets
 * a client's bad input throw past the gateway.
 */
import type { Logger } from 'pino';
import { buildInfo } from './build-info.js';
import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCode, matchTopic, type Limits } from '../../client/protocol/index.js';
import type { Topics } from '../topics/index.js';
import { Authenticator } from '../auth/index.js';
import type { Socket } from 'node:net';
import { Gateway } from './gateway.js';
import { registerStaticFiles } from './static-files.js';
import { Admission, type AdmissionOptions } from './admission.js';
import { frameworkErrors, maxParamLength, perAddressRate, registerHttpApi, registerOperations } from './http-api.js';
import { BrokerMetrics, ProtocolErrorReason } from './metrics.js';
import type { SessionLimits } from './session.js';
import type { RateLimits } from './rate-limits.js';

export { BrokerMetrics } from './metrics.js';
export { Gateway } from './gateway.js';

export interface ServerOptions {
  brokerId: string;
  /** Where fastify logs (pino): its request lines only at debug, its errors always. None: fastify logs nothing. */
  logger?: Logger;
  topics: Topics;
  limits: Limits;
  session: SessionLimits;
  helloTimeoutMs: number;
  pingIntervalMs: number;
  connectionsMax: number;
  isReady: () => boolean;
  isAccepting: () => boolean;
  /** Prefix of session ids (the broker's member id in the mesh). */
  sessionPrefix?: () => string;
  /** What `GET /api/v1/cluster` shows; default: this one broker. */
  cluster?: () => unknown;
  /** Authentication and permissions; default anonymous (everyone may do everything). */
  auth?: Authenticator;
  /** Per-connection rate limits; default none. */
  rates?: RateLimits;
  /** Connections from one IP address; default connectionsMax. */
  connectionsPerIp?: number;
  /** TCP connections not yet upgraded to a WebSocket; default 4096 in all, 256 per address. */
  pending?: AdmissionOptions;
  /** Bytes a connection may send before its welcome; default 16 KiB. */
  helloBytesMax?: number;
  /** Topic patterns conflated for subscribers that fall behind (conflation.ts). */
  conflate?: readonly string[];
  /** Serve /metrics, /livez and /readyz on a separate app (listened on by the caller) instead of the client port. */
  internalOperations?: boolean;
  /** TLS for the client port (https, wss): PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** HTTP API requests per second from one address (0: no limit). */
  httpRequestsPerSecond?: number;
}

export interface BrokerServer {
  app: FastifyInstance;
  /** With `internalOperations`: the app serving /metrics, /livez and /readyz. */
  internal?: FastifyInstance;
  gateway: Gateway;
  metrics: BrokerMetrics;
}

export async function createServer(options: ServerOptions): Promise<BrokerServer> {
  const metrics = new BrokerMetrics(await buildInfo());
  const { topics } = options;
  const conflate = options.conflate ?? [];
  if (conflate.length > 0) topics.index.conflates = (topic) => topic.charCodeAt(0) !== 36 /* $ */ && conflate.some((pattern) => matchTopic(pattern, topic));
  const auth = options.auth ?? new Authenticator({ origins: '*', tokenGraceMs: 10_000 });
  metrics.setSources({
    topics: () => topics.table.size,
    subscriptions: () => topics.index.subscriptionCount,
    delivered: () => topics.index.deliveredTotal,
  });
  // Slowloris: a request (a WebSocket upgrade included) must send its headers within the hello
  // timeout (at least 1 s), and the whole request within 30 s; Node checks every half second.
  const headersTimeout = Math.max(1000, options.helloTimeoutMs);
  const httpRate = perAddressRate(options.httpRequestsPerSecond ?? 0);
  const app = Fastify({
    // fastify's own lines (requests, "Server listening") only at debug; its errors always.
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger.child({}, { level: options.logger.isLevelEnabled('debug') ? 'debug' : 'warn' }) as FastifyBaseLogger }),
    routerOptions: { maxParamLength },
    frameworkErrors: frameworkErrors(httpRate, metrics),
    // A TLS handshake must finish within the same bound as the headers (slowloris over TLS).
    ...(options.tls === undefined ? {} : { https: { cert: options.tls.cert, key: options.tls.key, handshakeTimeout: headersTimeout } }),
    http: { headersTimeout, requestTimeout: Math.max(30_000, headersTimeout), connectionsCheckingInterval: 500 },
    requestTimeout: Math.max(30_000, headersTimeout),
    bodyLimit: options.limits.payloadBytesMax * 2 + 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Refuse unknown fields rather than silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  const gateway = new Gateway({
    brokerId: options.brokerId,
    limits: options.limits,
    session: options.session,
    helloTimeoutMs: options.helloTimeoutMs,
    pingIntervalMs: options.pingIntervalMs,
    connectionsMax: options.connectionsMax,
    topics,
    metrics,
    isAccepting: options.isAccepting,
    ...(options.sessionPrefix === undefined ? {} : { sessionPrefix: options.sessionPrefix }),
    auth,
    rates: options.rates ?? { publishesPerSecond: 0, bytesPerSecond: 0, subscribesPerSecond: 0 },
    connectionsPerIp: options.connectionsPerIp ?? options.connectionsMax,
    helloBytesMax: Math.min(options.helloBytesMax ?? 16 * 1024, options.limits.frameBytesMax),
  });
  const pending = options.pending ?? { pendingMax: 4096, pendingPerAddress: 256 };
  const admission = new Admission(pending, (reason) => metrics.socketsRefused.inc({ reason }));
  app.server.on('connection', (socket: Socket) => admission.admit(socket));
  await app.register(websocket, {
    // allowSynchronousEvents off: ws hands over one frame per connection per turn of the event
    // loop, so one connection's burst of frames cannot hold the loop (decode work is bounded per
    // frame by its size and message count).
    options: { maxPayload: options.limits.frameBytesMax, perMessageDeflate: false, allowSynchronousEvents: false },
  });
  // Pages served elsewhere (a game's own site) may load /client.js and call the HTTP API from the
  // origins allowed to open WebSockets (--origins): the same list answers CORS.
  await app.register(cors, {
    origin: (origin, callback) => callback(null, auth.originAllowed(origin)),
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key'],
    maxAge: 600,
  });
  // A browser page from an origin not allowed never gets a WebSocket (refused before the upgrade).
  const originCheck = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (auth.originAllowed(request.headers.origin)) return;
    metrics.protocolErrors.inc({ reason: ProtocolErrorReason.Origin });
    await reply.code(403).send({ code: ErrorCode.Forbidden, error: 'Forbidden', message: 'this origin may not open a WebSocket here' });
  };
  app.get('/ws', { websocket: true, preValidation: originCheck }, (socket, request) => {
    admission.upgraded(request.socket);
    gateway.accept(socket, request.socket.remoteAddress ?? '');
  });
  await registerHttpApi(app, {
    brokerId: options.brokerId,
    topics,
    metrics,
    isReady: options.isReady,
    isAccepting: options.isAccepting,
    startedAt: Date.now(),
    ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
    auth,
    operations: options.internalOperations !== true,
    rate: httpRate,
    sessions: gateway,
    ...(options.sessionPrefix === undefined ? {} : { sessionPrefix: options.sessionPrefix }),
  });
  // Sockets of any kind are bounded: upgraded ones by the connection limit, the others by
  // admission; this backstop leaves a margin for sockets still closing.
  app.server.maxConnections = options.connectionsMax + pending.pendingMax + 64;
  let internal: FastifyInstance | undefined;
  if (options.internalOperations === true) {
    internal = Fastify({ logger: false });
    registerOperations(internal, { isReady: options.isReady, metrics });
  }
  await registerStaticFiles(app);
  app.addHook('onClose', async () => {
    gateway.stop();
    await internal?.close();
  });
  return { app, gateway, metrics, ...(internal === undefined ? {} : { internal }) };
}
