/**
 * `chorus-client`: the project's official client (dist/client/index.js), used as an
 * application would: reconnect off, publishes with `{ ack: false }` (at most once, as
 * a NATS core publish: none of the workloads waits for a seq), the handler given the
 * message's `data` (a binary payload arrives as a view of the frame) and its `seq`.
 * The client does not expose its socket, so the adapter hands it a `ws` subclass that
 * remembers the instance, for bufferedAmount().
 */
import WebSocket from 'ws';

export const name = 'chorus-client';

const CLIENT_URL = new URL('../../../dist/client/index.js', import.meta.url);
const { connect: chorusConnect } = await import(CLIENT_URL.href);
let instances = 0;

export async function connect(url, hooks = {}) {
  let socket = null;
  class RememberedWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      socket = this;
    }
  }
  const client = await chorusConnect(url, {
    clientId: `official-${process.pid}-${++instances}`,
    reconnect: { enabled: false },
    WebSocket: RememberedWebSocket,
  });
  let closing = false;
  client.on('error', (err) => hooks.onError?.(err));
  client.on('disconnected', ({ code }) => {
    if (!closing) hooks.onClose?.(code);
  });
  const onPublishError = (err) => hooks.onError?.(err);
  return {
    async subscribe(topic, handler) {
      await client.subscribe(topic, (msg) => handler(msg.data, msg.seq));
    },
    publish(topic, bytes) {
      client.publish(topic, bytes, { ack: false }).catch(onPublishError);
    },
    bufferedAmount: () => socket?.bufferedAmount ?? 0,
    async close() {
      closing = true;
      await client.close();
    },
  };
}
