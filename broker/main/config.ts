/**
 * Broker configuration: one table of options, each with its flag, its
 * environment twin, unit, default and bounds. Flags win over environment,
 * environment over defaults. A bad value stops start-up with a message that
 * names the option, the value and what was expected.
 */
import { hostname } from 'node:os';
import type { HistoryRule } from '../topics/index.js';
import { ConfigError, KiB, MiB, parseValue, shownDefault, type OptionSpec as ValueSpec } from './config-values.js';

/** One option: its flag, environment variable, kind, bounds and help, and the field it sets. */
type OptionSpec = ValueSpec & { key: keyof BrokerConfig };

export { ConfigError } from './config-values.js';

export interface BrokerConfig {
  /** Interface to listen on. Default `0.0.0.0`. */
  host: string;
  /** Client port (HTTP and WebSocket `/ws`); 0 picks a free one. Default 8080. */
  port: number;
  /** Member name; the broker id is `name#incarnation`. Default: the host name. */
  name: string;
  /** Largest inbound WebSocket frame, bytes. Default 1 MiB. */
  frameBytesMax: number;
  /** Largest `data` of one publish, msgpack bytes. Default 64 KiB. */
  payloadBytesMax: number;
  /** Largest topic state, msgpack bytes. Default 1 MiB. */
  stateBytesMax: number;
  /** Largest presence info of one subscriber, msgpack bytes. Default 4 KiB. */
  presenceInfoBytesMax: number;
  /** Longest topic name, bytes (the protocol's ceiling is 255). Default 255. */
  topicBytesMax: number;
  /** Client connections (including those still in their handshake); beyond it new ones are closed with 4006. Default 10 000. */
  connectionsMax: number;
  /** Subscriptions per connection. Default 1000. */
  subscriptionsMax: number;
  /** Messages in one inbound frame. Default 1024. */
  frameMessagesMax: number;
  /** Bytes a connection may send before its welcome (its hello and what it queues behind it). Default 16 KiB. */
  helloBytesMax: number;
  /** TCP connections not yet upgraded to a WebSocket, from all addresses; past it the oldest is dropped. Default 4096. */
  pendingMax: number;
  /** TCP connections not yet upgraded to a WebSocket, from one address (an IPv6 /64). Default 256. */
  pendingPerIp: number;
  /** Outbound bytes queued per connection before it is cut as a slow consumer. Default 8 MiB. */
  outboundBytesMax: number;
  /** Messages of history kept per topic. Default 1000. */
  historyLengthMax: number;
  /** Bytes of history kept per topic. Default 1 MiB. */
  historyBytesMax: number;
  /** Per-pattern history limits, first match wins. Flag form `pattern=length:bytes`, repeatable; env comma separated. */
  historyRules: HistoryRule[];
  /** Topics held in memory. Default 100 000. */
  topicsMax: number;
  /** Time a new connection has to say hello, ms. Default 5000. */
  helloTimeoutMs: number;
  /** Idle ping interval, ms. Default 25 000. */
  pingIntervalMs: number;
  /** `info` logs start-up and shutdown; `silent` logs nothing. Default info. */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Cluster addresses (`host:port`) of the brokers to form a mesh with, this one included. Empty: run alone. */
  seeds: string[];
  /**
   * A DNS name whose SRV (or A/AAAA) records list the brokers — a Kubernetes headless Service —
   * re-resolved every 5 s. The broker named `…-0` (a StatefulSet's ordinal 0) may found the group.
   */
  seedsDns: string;
  /** Port of broker-to-broker links; 0 picks a free one. Default 7946. */
  clusterPort: number;
  /** The address other brokers dial for this one. Default: host:clusterPort (127.0.0.1 when host is 0.0.0.0). */
  clusterAdvertise: string;
  /** Shared secret brokers prove to each other (never sent). Required with seeds. */
  clusterSecret: string;
  /** Lightweight groups (ordered streams) topics hash onto. Default 32. */
  lwgCount: number;
  /** Brokers that keep each lightweight group's state and history (capped by the view size). Default 2. */
  lwgReplicas: number;
  /** Seconds a lightweight group whose every copy left at once waits for one to come back before it starts again empty. Default 300. */
  lwgWaitSeconds: number;
  /** Messages a second on a group's stream from which a broker taking three quarters of them orders the stream itself; 0: never. Default 20. */
  takeoverMessages: number;
  /** Bytes of topic commands a second on a group from which a broker taking or subscribing to half of them claims the group, to own it; 0: never. Default 65,536. */
  claimBytes: number;
  /** File the core group's log (views, sends, deliveries) is appended to, one JSON line each, for the checker. Default: none. */
  coreLog: string;
  /** Client authentication: `none` (anonymous local mode, the default) or `jwt`. */
  auth: 'none' | 'jwt';
  /** HS256 secret (at least 32 characters). */
  jwtSecret: string;
  /** File with an RS256/ES256 public key (PEM). */
  jwtPublicKey: string;
  /** File with a JWKS (RS256/ES256 keys by kid). */
  jwtJwks: string;
  /** Required `iss`, if set. */
  jwtIssuer: string;
  /** Required `aud`, if set. */
  jwtAudience: string;
  /** Clock skew tolerated on exp/nbf, seconds. Default 5. */
  jwtLeewaySeconds: number;
  /** Grants the HTTP API everything (at least 16 characters). */
  apiKey: string;
  /** Browser origins allowed to open WebSockets; `*` any. Default: any in anonymous mode, none with authentication. */
  origins: string[];
  /** Topic patterns whose events are conflated for subscribers that fall behind. Default none. */
  conflate: string[];
  /** Topic patterns of rooms: their players (presence) are listed in the lobby `$rooms`. Default none. */
  rooms: string[];
  /** How long a room stays empty before it expires, ms. Default 60 000. */
  roomEmptyMs: number;
  /** How long a connection whose token expired may go on without a refresh, ms. Default 10 000. */
  tokenGraceMs: number;
  /** Publishes per second per connection (0: no limit). Default 10 000. */
  ratePublishes: number;
  /** Inbound bytes per second per connection (0: no limit; else at least frame-bytes-max). Default 32 MiB. */
  rateBytes: number;
  /** Subscribes + unsubscribes per second per connection (0: no limit). Default 1000. */
  rateSubscribes: number;
  /** Client connections from one IP address. Default 1000. */
  connectionsPerIp: number;
  /** HTTP API requests per second from one IP address (0: no limit). Default 1000. */
  rateHttp: number;
  /** Longest time data may wait unread by a client before it is cut as a slow consumer, ms. Default 30 000. */
  outboundAgeMaxMs: number;
  /** Port for /metrics, /livez and /readyz alone (then not on the client port); -1: none. Default -1. */
  internalPort: number;
  /** Interface of the internal port. Default 127.0.0.1. */
  internalHost: string;
  /** TLS for clients (https, wss): certificate and key files (PEM). */
  tlsCert: string;
  tlsKey: string;
  /** TLS on broker links: certificate and key files (PEM), and the CA file that signs peers' certificates (mutual TLS). */
  clusterTlsCert: string;
  clusterTlsKey: string;
  clusterTlsCa: string;
}


export const configDefaults: BrokerConfig = {
  host: '0.0.0.0',
  port: 8080,
  name: hostname().split('.')[0] || 'chorus',
  frameBytesMax: MiB,
  payloadBytesMax: 64 * KiB,
  stateBytesMax: MiB,
  presenceInfoBytesMax: 4 * KiB,
  topicBytesMax: 255,
  connectionsMax: 10_000,
  subscriptionsMax: 1000,
  frameMessagesMax: 1024,
  helloBytesMax: 16 * KiB,
  pendingMax: 4096,
  pendingPerIp: 256,
  outboundBytesMax: 8 * MiB,
  historyLengthMax: 1000,
  historyBytesMax: MiB,
  historyRules: [],
  topicsMax: 100_000,
  helloTimeoutMs: 5000,
  pingIntervalMs: 25_000,
  logLevel: 'info',
  seeds: [],
  seedsDns: '',
  clusterPort: 7946,
  clusterAdvertise: '',
  clusterSecret: '',
  lwgCount: 32,
  lwgReplicas: 2,
  lwgWaitSeconds: 300,
  takeoverMessages: 20,
  claimBytes: 65_536,
  coreLog: '',
  auth: 'none',
  jwtSecret: '',
  jwtPublicKey: '',
  jwtJwks: '',
  jwtIssuer: '',
  jwtAudience: '',
  jwtLeewaySeconds: 5,
  apiKey: '',
  origins: [],
  conflate: [],
  rooms: [],
  roomEmptyMs: 60_000,
  tokenGraceMs: 10_000,
  ratePublishes: 10_000,
  rateBytes: 32 * MiB,
  rateSubscribes: 1000,
  connectionsPerIp: 1000,
  rateHttp: 1000,
  outboundAgeMaxMs: 30_000,
  internalPort: -1,
  internalHost: '127.0.0.1',
  tlsCert: '',
  tlsKey: '',
  clusterTlsCert: '',
  clusterTlsKey: '',
  clusterTlsCa: '',
};

export const optionSpecs: readonly OptionSpec[] = [
  { key: 'port', flag: '--port', env: 'CHORUS_PORT', kind: 'int', min: 0, max: 65535, help: 'client port: HTTP API and WebSocket /ws (0 picks a free port)' },
  { key: 'host', flag: '--host', env: 'CHORUS_HOST', kind: 'host', help: 'interface to listen on (clients and broker links); one specific address is also where links to other brokers are dialed from' },
  { key: 'tlsCert', flag: '--tls-cert', env: 'CHORUS_TLS_CERT', kind: 'path', help: 'PEM certificate: clients connect with https and wss' },
  { key: 'tlsKey', flag: '--tls-key', env: 'CHORUS_TLS_KEY', kind: 'path', help: 'PEM key of that certificate' },
  { key: 'internalPort', flag: '--internal-port', env: 'CHORUS_INTERNAL_PORT', kind: 'int', min: 0, max: 65535, help: 'serve /metrics, /livez and /readyz on this port only (0 picks one), not on the client port' },
  { key: 'internalHost', flag: '--internal-host', env: 'CHORUS_INTERNAL_HOST', kind: 'host', help: 'interface of the internal port' },
  { key: 'name', flag: '--name', env: 'CHORUS_NAME', kind: 'string', help: 'member name (broker id is name#incarnation)', shown: 'host name' },
  { key: 'frameBytesMax', flag: '--frame-bytes-max', env: 'CHORUS_FRAME_BYTES_MAX', kind: 'bytes', min: 1 * KiB, max: 64 * MiB, help: 'largest inbound WebSocket frame' },
  { key: 'payloadBytesMax', flag: '--payload-bytes-max', env: 'CHORUS_PAYLOAD_BYTES_MAX', kind: 'bytes', min: 16, max: 16 * MiB, help: 'largest publish data (msgpack bytes)' },
  { key: 'stateBytesMax', flag: '--state-bytes-max', env: 'CHORUS_STATE_BYTES_MAX', kind: 'bytes', min: 16, max: 64 * MiB, help: 'largest topic state (msgpack bytes)' },
  { key: 'presenceInfoBytesMax', flag: '--presence-info-bytes-max', env: 'CHORUS_PRESENCE_INFO_BYTES_MAX', kind: 'bytes', min: 16, max: MiB, help: 'largest presence info of one subscriber' },
  { key: 'topicBytesMax', flag: '--topic-bytes-max', env: 'CHORUS_TOPIC_BYTES_MAX', kind: 'int', min: 8, max: 255, help: 'longest topic name, bytes' },
  { key: 'connectionsMax', flag: '--connections-max', env: 'CHORUS_CONNECTIONS_MAX', kind: 'int', min: 1, max: 10_000_000, help: 'client connections, handshakes included (more are closed with 4006)' },
  { key: 'connectionsPerIp', flag: '--connections-per-ip', env: 'CHORUS_CONNECTIONS_PER_IP', kind: 'int', min: 1, max: 10_000_000, help: 'client connections from one IP address (more are closed with 4006)' },
  { key: 'pendingMax', flag: '--pending-max', env: 'CHORUS_PENDING_MAX', kind: 'int', min: 2, max: 10_000_000, help: 'TCP connections not yet upgraded to a WebSocket, all addresses (past it the oldest is dropped)' },
  { key: 'pendingPerIp', flag: '--pending-per-ip', env: 'CHORUS_PENDING_PER_IP', kind: 'int', min: 1, max: 10_000_000, help: 'TCP connections not yet upgraded to a WebSocket from one address or IPv6 /64 (more are dropped)' },
  { key: 'helloBytesMax', flag: '--hello-bytes-max', env: 'CHORUS_HELLO_BYTES_MAX', kind: 'bytes', min: 1 * KiB, max: 16 * MiB, help: 'bytes a connection may send before its welcome, at most frame-bytes-max (a bigger frame: 1009 unread; more in all: 4008)' },
  { key: 'frameMessagesMax', flag: '--frame-messages-max', env: 'CHORUS_FRAME_MESSAGES_MAX', kind: 'int', min: 16, max: 1_000_000, help: 'messages in one inbound frame (more: close 4501, undecoded)' },
  { key: 'ratePublishes', flag: '--rate-publishes', env: 'CHORUS_RATE_PUBLISHES', kind: 'int', min: 0, max: 100_000_000, help: 'publishes per second per connection (0: no limit; over it: RateLimited)' },
  { key: 'rateBytes', flag: '--rate-bytes', env: 'CHORUS_RATE_BYTES', kind: 'bytes', min: 0, max: 1024 * 1024 * MiB, help: 'inbound bytes per second per connection (0: no limit)' },
  { key: 'rateHttp', flag: '--rate-http', env: 'CHORUS_RATE_HTTP', kind: 'int', min: 0, max: 10_000_000, help: 'HTTP API requests per second from one IP address (0: no limit; over it: 429)' },
  { key: 'rateSubscribes', flag: '--rate-subscribes', env: 'CHORUS_RATE_SUBSCRIBES', kind: 'int', min: 0, max: 10_000_000, help: 'subscribes + unsubscribes per second per connection (0: no limit)' },
  { key: 'subscriptionsMax', flag: '--subscriptions-max', env: 'CHORUS_SUBSCRIPTIONS_MAX', kind: 'int', min: 1, max: 1_000_000, help: 'subscriptions per connection' },
  { key: 'outboundBytesMax', flag: '--outbound-bytes-max', env: 'CHORUS_OUTBOUND_BYTES_MAX', kind: 'bytes', min: 64 * KiB, max: 1024 * MiB, help: 'bytes queued to one connection before it is closed as a slow consumer' },
  { key: 'outboundAgeMaxMs', flag: '--outbound-age-max-ms', env: 'CHORUS_OUTBOUND_AGE_MAX_MS', kind: 'int', min: 100, max: 3_600_000, help: 'ms data may wait unread by a connection before it is closed as a slow consumer' },
  { key: 'historyLengthMax', flag: '--history-length-max', env: 'CHORUS_HISTORY_LENGTH_MAX', kind: 'int', min: 0, max: 10_000_000, help: 'messages of history kept per topic' },
  { key: 'historyBytesMax', flag: '--history-bytes-max', env: 'CHORUS_HISTORY_BYTES_MAX', kind: 'bytes', min: 0, max: 1024 * MiB, help: 'bytes of history kept per topic' },
  { key: 'historyRules', flag: '--history', env: 'CHORUS_HISTORY', kind: 'history', help: 'per-pattern history limits, pattern=length:bytes (repeat the flag; comma-separate in env)' },
  { key: 'topicsMax', flag: '--topics-max', env: 'CHORUS_TOPICS_MAX', kind: 'int', min: 1, max: 100_000_000, help: 'topics held in memory (idle ones beyond it are dropped)' },
  { key: 'helloTimeoutMs', flag: '--hello-timeout-ms', env: 'CHORUS_HELLO_TIMEOUT_MS', kind: 'int', min: 100, max: 600_000, help: 'ms a new connection has to send hello' },
  { key: 'pingIntervalMs', flag: '--ping-interval-ms', env: 'CHORUS_PING_INTERVAL_MS', kind: 'int', min: 100, max: 600_000, help: 'ms between pings on an idle connection' },
  { key: 'logLevel', flag: '--log-level', env: 'CHORUS_LOG_LEVEL', kind: 'level', help: 'debug, info, warn, error or silent: one JSON line per event at or above it (per-group lines at debug)' },
  { key: 'seeds', flag: '--seeds', env: 'CHORUS_SEEDS', kind: 'addresses', help: 'cluster addresses host:port,… of the mesh (this broker included); none: run alone' },
  { key: 'seedsDns', flag: '--seeds-dns', env: 'CHORUS_SEEDS_DNS', kind: 'host', help: 'DNS name (SRV or A records, e.g. a Kubernetes headless Service) listing the mesh, re-resolved every 5 s' },
  { key: 'clusterPort', flag: '--cluster-port', env: 'CHORUS_CLUSTER_PORT', kind: 'int', min: 0, max: 65535, help: 'port of broker-to-broker links (0 picks a free one)' },
  { key: 'clusterAdvertise', flag: '--cluster-advertise', env: 'CHORUS_CLUSTER_ADVERTISE', kind: 'address', help: 'host:port other brokers dial for this one', shown: 'host:cluster-port' },
  { key: 'clusterSecret', flag: '--cluster-secret', env: 'CHORUS_CLUSTER_SECRET', kind: 'secret', help: 'shared secret of the mesh (at least 8 chars; never sent)' },
  { key: 'coreLog', flag: '--core-log', env: 'CHORUS_CORE_LOG', kind: 'path', help: 'append the core group log (JSON lines) to this file, for the property checker' },
  { key: 'clusterTlsCert', flag: '--cluster-tls-cert', env: 'CHORUS_CLUSTER_TLS_CERT', kind: 'path', help: 'PEM certificate of this broker on TLS broker links' },
  { key: 'clusterTlsKey', flag: '--cluster-tls-key', env: 'CHORUS_CLUSTER_TLS_KEY', kind: 'path', help: 'PEM key of that certificate' },
  { key: 'clusterTlsCa', flag: '--cluster-tls-ca', env: 'CHORUS_CLUSTER_TLS_CA', kind: 'path', help: 'PEM CA that signs brokers\' certificates: mutual TLS between brokers' },
  { key: 'lwgCount', flag: '--lwg-count', env: 'CHORUS_LWG_COUNT', kind: 'int', min: 1, max: 4096, help: 'lightweight groups (ordered streams) topics hash onto' },
  { key: 'auth', flag: '--auth', env: 'CHORUS_AUTH', kind: 'auth', help: 'client authentication: none (anonymous local mode) or jwt' },
  { key: 'jwtSecret', flag: '--jwt-secret', env: 'CHORUS_JWT_SECRET', kind: 'secret', help: 'HS256 secret of client tokens (at least 32 chars)' },
  { key: 'jwtPublicKey', flag: '--jwt-public-key', env: 'CHORUS_JWT_PUBLIC_KEY', kind: 'path', help: 'PEM file with the RS256/ES256 public key of client tokens' },
  { key: 'jwtJwks', flag: '--jwt-jwks', env: 'CHORUS_JWT_JWKS', kind: 'path', help: 'JWKS file with the RS256/ES256 keys of client tokens (chosen by kid)' },
  { key: 'jwtIssuer', flag: '--jwt-issuer', env: 'CHORUS_JWT_ISSUER', kind: 'text', help: 'required iss of client tokens' },
  { key: 'jwtAudience', flag: '--jwt-audience', env: 'CHORUS_JWT_AUDIENCE', kind: 'text', help: 'required aud of client tokens' },
  { key: 'jwtLeewaySeconds', flag: '--jwt-leeway', env: 'CHORUS_JWT_LEEWAY', kind: 'int', min: 0, max: 300, help: 'clock skew tolerated on exp/nbf, seconds' },
  { key: 'tokenGraceMs', flag: '--token-grace-ms', env: 'CHORUS_TOKEN_GRACE_MS', kind: 'int', min: 100, max: 600_000, help: 'ms a connection whose token expired has to refresh it' },
  { key: 'apiKey', flag: '--api-key', env: 'CHORUS_API_KEY', kind: 'secret', help: 'key that grants the HTTP API everything (Authorization: Bearer …; at least 16 chars)' },
  { key: 'conflate', flag: '--conflate', env: 'CHORUS_CONFLATE', kind: 'patterns', help: 'topic patterns (comma-separated, e.g. game.*.pos) whose events a subscriber that falls behind gets as the latest per publisher, with the skips marked' },
  { key: 'rooms', flag: '--rooms', env: 'CHORUS_ROOMS', kind: 'patterns', help: 'topic patterns of rooms (comma-separated, e.g. game.*): their players (presence) are listed in the lobby topic $rooms, and a room empty for --room-empty-ms expires' },
  { key: 'roomEmptyMs', flag: '--room-empty-ms', env: 'CHORUS_ROOM_EMPTY_MS', kind: 'int', min: 100, max: 86_400_000, help: 'ms a room stays empty before it expires (leaves $rooms, its state reset)' },
  { key: 'origins', flag: '--origins', env: 'CHORUS_ORIGINS', kind: 'origins', help: 'browser origins allowed to open WebSockets and to read /client.js and the HTTP API (CORS); comma-separated, or *; default * in anonymous mode, none with --auth', shown: '* anonymous, none with --auth' },
  { key: 'lwgReplicas', flag: '--lwg-replicas', env: 'CHORUS_LWG_REPLICAS', kind: 'int', min: 1, max: 64, help: "brokers that keep each lightweight group's state and history" },
  { key: 'lwgWaitSeconds', flag: '--lwg-wait', env: 'CHORUS_LWG_WAIT', kind: 'int', min: 1, max: 604_800, help: 'seconds a lightweight group whose every copy left at once waits (publishes refused) for one to come back before it starts again empty' },
  { key: 'takeoverMessages', flag: '--takeover-messages', env: 'CHORUS_TAKEOVER_MESSAGES', kind: 'int', min: 0, max: 1_000_000, help: "messages a second on a lightweight group's stream from which a broker that takes three quarters of its publishes orders the stream itself (0: never)" },
  { key: 'claimBytes', flag: '--claim-bytes', env: 'CHORUS_CLAIM_BYTES', kind: 'int', min: 0, max: 1_073_741_824, help: "bytes of topic commands a second on a lightweight group from which a broker that takes or subscribes to half of them claims the group, to keep its state (0: never)" },
];

/**
 * Reads configuration from argv (flags `--x value` or `--x=value`) and the
 * environment. Throws ConfigError on an unknown flag or a bad value.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): BrokerConfig {
  const config: BrokerConfig = { ...configDefaults, historyRules: [] };
  const set = (spec: OptionSpec, value: unknown): void => {
    (config as unknown as Record<string, unknown>)[spec.key] = value;
  };
  for (const spec of optionSpecs) {
    const raw = env[spec.env];
    if (raw !== undefined && raw !== '') set(spec, parseValue(spec, raw, spec.env));
  }
  const fromFlags: HistoryRule[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = optionSpecs.find((s) => s.flag === flag);
    if (spec === undefined) throw new ConfigError(`unknown option ${JSON.stringify(arg)} (see --help)`);
    let raw: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new ConfigError(`${flag} needs a value`);
    raw = raw.trim();
    const value = parseValue(spec, raw, flag);
    if (spec.kind === 'history') fromFlags.push(...(value as HistoryRule[]));
    else set(spec, value);
  }
  if (fromFlags.length > 0) config.historyRules = fromFlags;
  return validateConfig(config);
}

/** Cross-field checks, also applied to programmatic options. */
export function validateConfig(config: BrokerConfig): BrokerConfig {
  if ((config.seeds.length > 0 || config.seedsDns !== '') && config.clusterSecret.length < 8) {
    throw new ConfigError('a mesh (--seeds or --seeds-dns) needs --cluster-secret (CHORUS_CLUSTER_SECRET) of at least 8 characters');
  }
  const keys = [config.jwtSecret, config.jwtPublicKey, config.jwtJwks].filter((k) => k !== '').length;
  if (config.auth === 'jwt' && keys !== 1) {
    throw new ConfigError('--auth jwt needs exactly one of --jwt-secret, --jwt-public-key or --jwt-jwks');
  }
  if (config.auth === 'none' && (keys > 0 || config.jwtIssuer !== '' || config.jwtAudience !== '')) {
    throw new ConfigError('JWT options are set but authentication is off: add --auth jwt (CHORUS_AUTH=jwt)');
  }
  if (config.jwtSecret !== '' && config.jwtSecret.length < 32) throw new ConfigError('--jwt-secret must have at least 32 characters (256 bits for HS256)');
  if (config.apiKey !== '' && config.apiKey.length < 16) throw new ConfigError('--api-key must have at least 16 characters');
  if ((config.tlsCert === '') !== (config.tlsKey === '')) throw new ConfigError('--tls-cert and --tls-key go together');
  if ((config.clusterTlsCert === '') !== (config.clusterTlsKey === '')) throw new ConfigError('--cluster-tls-cert and --cluster-tls-key go together');
  if (config.clusterTlsCa !== '' && config.clusterTlsCert === '') throw new ConfigError('--cluster-tls-ca needs --cluster-tls-cert and --cluster-tls-key (mutual TLS)');
  if (config.rateBytes !== 0 && config.rateBytes < config.frameBytesMax) {
    throw new ConfigError(`rate-bytes (${config.rateBytes}) must be 0 or at least frame-bytes-max (${config.frameBytesMax}): one largest frame must fit in a second`);
  }
  if (config.pendingPerIp * 2 > config.pendingMax) {
    throw new ConfigError(`pending-per-ip (${config.pendingPerIp}) must be at most half of pending-max (${config.pendingMax}): one address must not take every pre-upgrade place`);
  }
  if (config.payloadBytesMax >= config.frameBytesMax) {
    throw new ConfigError(`payload-bytes-max (${config.payloadBytesMax}) must be below frame-bytes-max (${config.frameBytesMax}): a publish must fit in a frame`);
  }
  return config;
}

export function helpText(): string {
  const rows = optionSpecs.map((s) => `  ${`${s.flag} <${s.kind}>`.padEnd(30)} ${s.env.padEnd(28)} ${s.help} [default ${shownDefault(s, configDefaults[s.key])}]`);
  return ['Usage: chorus [options]       chorus --version       chorus --help', '', '  flag'.padEnd(33) + 'environment'.padEnd(29) + 'meaning', ...rows].join('\n');
}
