/**
 * Wires one broker: the topic layer over its ordered stream, the server, and
 * the lifecycle (listen, drain, close). Owns no protocol logic of its own.
 */
import { randomBytes } from 'node:crypto';
import { CloseCode } from '../../client/protocol/index.js';
import { createServer } from '../server/index.js';
import { Topics } from '../topics/index.js';
import { configDefaults, validateConfig, type BrokerConfig } from './config.js';

export interface BrokerHandle {
  /** WebSocket URL of the client endpoint, e.g. `ws://127.0.0.1:8080/ws`. */
  url: string;
  /** Base URL of the HTTP API. */
  httpUrl: string;
  port: number;
  host: string;
  /** `name#incarnation`. */
  brokerId: string;
  config: BrokerConfig;
  /** Stop being ready, tell clients to move elsewhere (they resume), then stop. */
  close(): Promise<void>;
}

export type BrokerOptions = Partial<BrokerConfig>;

export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  const config = validateConfig({ ...configDefaults, ...options });
  const incarnation = Date.now().toString(36) + randomBytes(2).toString('hex');
  const brokerId = `${config.name}#${incarnation}`;
  let draining = false;

  const topics = new Topics({
    limits: {
      historyLengthMax: config.historyLengthMax,
      historyBytesMax: config.historyBytesMax,
      historyRules: config.historyRules,
      stateBytesMax: config.stateBytesMax,
      topicsMax: config.topicsMax,
    },
    payloadBytesMax: config.payloadBytesMax,
    presenceInfoBytesMax: config.presenceInfoBytesMax,
    topicBytesMax: config.topicBytesMax,
    subscriptionsMax: config.subscriptionsMax,
    newEpoch: () => randomBytes(6).toString('base64url'),
  });
  const { app, gateway } = await createServer({
    brokerId,
    topics,
    limits: {
      frameBytesMax: config.frameBytesMax,
      payloadBytesMax: config.payloadBytesMax,
      stateBytesMax: config.stateBytesMax,
      subscriptionsMax: config.subscriptionsMax,
      topicBytesMax: config.topicBytesMax,
      presenceInfoBytesMax: config.presenceInfoBytesMax,
    },
    connectionsMax: config.connectionsMax,
    session: { outboundBytesMax: config.outboundBytesMax, frameBytesOutMax: Math.max(64 * 1024, config.frameBytesMax) },
    helloTimeoutMs: config.helloTimeoutMs,
    pingIntervalMs: config.pingIntervalMs,
    isReady: () => !draining,
    isAccepting: () => !draining,
  });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;

  let closing: Promise<void> | undefined;
  return {
    url: `ws://${shownHost}:${port}/ws`,
    httpUrl: `http://${shownHost}:${port}`,
    port,
    host: config.host,
    brokerId,
    config,
    close() {
      closing ??= (async () => {
        draining = true;
        gateway.closeAll(CloseCode.Draining, 'broker shutting down: reconnect elsewhere');
        await app.close();
      })();
      return closing;
    },
  };
}
