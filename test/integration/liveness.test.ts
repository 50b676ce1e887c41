// Proves connection liveness on a real broker with a short ping interval: a busy subscriber that
// answers pings stays connected, one that never answers is closed with PingTimeout (4003), and a
// client library connection survives many intervals of one-way traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type Client } from '../../client/index.js';
import { CloseCode, decodeFrame, encodeFrame, type ServerMessage } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition, within } from '../helpers/wait.js';

const pingIntervalMs = 150;

describe('liveness', () => {
  let broker: BrokerProcess;
  let publisher: Client;
  let streaming = true;
  let stream: Promise<void>;

  beforeAll(async () => {
    broker = await startBrokerProcess(['--ping-interval-ms', String(pingIntervalMs)]);
    publisher = await connect(broker.url);
    // Steady traffic on one topic for the whole file, bounded in count.
    stream = (async () => {
      for (let n = 0; streaming && n < 200_000; n++) {
        await publisher.publish('live.feed', n);
        await new Promise<void>((resolve) => setTimeout(resolve, 2));
      }
    })();
  });
  afterAll(async () => {
    streaming = false;
    await stream?.catch(() => {});
    await publisher?.close();
    await broker?.stop();
  });

  function rawSubscriber(answerPings: boolean): { pings: () => number; messages: () => number; closed: Promise<number>; changed: Condition; ws: WebSocket } {
    const ws = new WebSocket(broker.url);
    const changed = new Condition();
    let pings = 0;
    let messages = 0;
    ws.on('open', () => ws.send(encodeFrame([{ type: 'hello', v: 1 }, { type: 'sub', id: 1, topic: 'live.feed' }])));
    ws.on('message', (data: Buffer) => {
      const decoded = decodeFrame(new Uint8Array(data));
      if (!decoded.ok) return;
      for (const m of decoded.messages as ServerMessage[]) {
        if (m.type === 'ping') {
          pings++;
          if (answerPings) ws.send(encodeFrame([{ type: 'pong' }]));
        } else if (m.type === 'msg') messages++;
      }
      changed.notify();
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => (changed.notify(), resolve(code))));
    return { pings: () => pings, messages: () => messages, closed, changed, ws };
  }

  it('pings a busy subscriber and keeps it while it answers', async () => {
    const sub = rawSubscriber(true);
    let closedCode: number | undefined;
    void sub.closed.then((code) => (closedCode = code));
    await sub.changed.wait(() => sub.pings() >= 6 || closedCode !== undefined, 10_000, 'six pings');
    expect(closedCode).toBeUndefined();
    expect(sub.messages()).toBeGreaterThan(0);
    sub.ws.close();
  });

  it('closes a subscriber that never answers with PingTimeout', async () => {
    const sub = rawSubscriber(false);
    expect(await within(sub.closed, 10_000, 'close')).toBe(CloseCode.PingTimeout);
    expect(sub.messages()).toBeGreaterThan(0);
  });

  it('keeps a client-library subscriber connected across many intervals of one-way traffic', async () => {
    const client = await connect(broker.url);
    let disconnects = 0;
    client.on('disconnected', () => disconnects++);
    const changed = new Condition();
    let got = 0;
    await client.subscribe('live.feed', () => (got++, changed.notify()));
    const start = performance.now();
    await changed.wait(() => performance.now() - start > 12 * pingIntervalMs + 2000, 15_000, 'twelve intervals of traffic');
    expect(disconnects).toBe(0);
    expect(got).toBeGreaterThan(50);
    await client.close();
  });
});
