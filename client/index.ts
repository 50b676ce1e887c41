/**
 * chorus/client — the isomorphic Chorus client (browser and Node, same code).
 *
 *   const client = await connect('ws://localhost:8080/ws')
 *   const sub = await client.subscribe('room.42', (msg) => …, { state: true })
 *   await client.publish('room.42', { hello: 'world' })
 *
 * Contract: each subscription sees every message of its topic exactly once,
 * in topic-seq order, across reconnects (or a `resync` event says history no
 * longer reached back); each publish is applied once.
 */
import { Client, type ConnectOptions } from './client.js';
import { resolveWebSocket } from './websocket.js';

export { Client, type ConnectOptions, type ClientEvents } from './client.js';
export { Subscription, type Message, type MessageHandler, type SubscribeOptions, type PresenceEvent, type ResyncEvent, type EndedEvent } from './subscription.js';
export { ChorusError, RequestError, ConnectionClosedError, ConnectError, QueueFullError, isRetryable } from './errors.js';
export type { PublishResult } from './publisher.js';
export type { ReconnectOptions } from './after-close.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket.js';
export { ErrorCode, CloseCode, MessageKind, protocolVersion } from './protocol/index.js';

/** Connects to the first reachable URL; resolves once the broker has answered hello. */
export async function connect(urlOrUrls: string | readonly string[], options: ConnectOptions = {}): Promise<Client> {
  const client = createClient(urlOrUrls, options);
  await client.ready;
  return client;
}

/**
 * Starts connecting and returns at once, as `io(url)` or `new Centrifuge(url)` do. Subscriptions
 * made before the broker's welcome go out in the hello's own frame (one round trip saved);
 * publishes wait for the welcome. `client.ready` settles on the first welcome, and rejects as
 * `connect()` would.
 */
export function createClient(urlOrUrls: string | readonly string[], options: ConnectOptions = {}): Client {
  const urls = typeof urlOrUrls === 'string' ? [urlOrUrls] : [...urlOrUrls];
  if (urls.length === 0) throw new TypeError('createClient: at least one URL is needed');
  const client = new Client(urls, options, resolveWebSocket(options.WebSocket));
  void client.start();
  return client;
}
