// Proves the client library's edges against a real broker process: bad values fail only their own
// call, an application handler that throws loses nothing, pattern and exact subscriptions on one
// connection each see a message once, presence joins and leaves arrive in order among the messages,
// the publish window is bounded, and the broker's connection limit closes extras with 4006.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, QueueFullError, RequestError, type Client, type Message, type PresenceEvent } from '../../client/index.js';
import { CloseCode, ErrorCode, encodeFrame } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition, within } from '../helpers/wait.js';

describe('client edges', () => {
  let broker: BrokerProcess;
  let clients: Client[] = [];
  const client = async (options = {}): Promise<Client> => {
    const c = await connect(broker.url, options);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startBrokerProcess(['--connections-max', '20']);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
    await broker?.stop();
  });

  it('refuses values that are not plain msgpack in the call, and keeps the connection', async () => {
    const c = await client();
    await expect(c.publish('edge.bad', { at: new Date() })).rejects.toMatchObject({ code: ErrorCode.BadRequest });
    await expect(c.publish('edge.bad', 10n)).rejects.toBeInstanceOf(RequestError);
    await expect(c.publish('edge.bad', 'x'.repeat(70_000))).rejects.toMatchObject({ code: ErrorCode.PayloadTooLarge });
    await expect(c.subscribe('edge.bad', () => {}, { state: true, since: 3 })).rejects.toMatchObject({ code: ErrorCode.BadRequest });
    await expect(c.subscribe('edge.bad', () => {}, { presence: { info: 'i'.repeat(5000) } })).rejects.toMatchObject({ code: ErrorCode.PayloadTooLarge });
    expect(await c.publish('edge.bad', { fine: true })).toEqual({ seq: 1 });
    expect(c.connected).toBe(true);
  });

  it('reports a throwing handler as an error event and still delivers every message', async () => {
    const c = await client();
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const seen: number[] = [];
    const arrived = new Condition();
    await c.subscribe('edge.throw', (m) => {
      seen.push(m.seq);
      arrived.notify();
      if (m.seq === 2) throw new Error('app bug');
    });
    const publisher = await client();
    for (let i = 0; i < 5; i++) void publisher.publish('edge.throw', i);
    await publisher.flush();
    await arrived.wait(() => seen.length === 5, 5000, 'five messages');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(errors.map((e) => e.message)).toEqual(['app bug']);
  });

  it('gives a pattern and a resuming exact subscription each message once', async () => {
    const publisher = await client();
    for (let i = 1; i <= 5; i++) await publisher.publish('edge.room.1', i);
    const c = await client();
    const wild: Message[] = [];
    const exact: Message[] = [];
    const arrived = new Condition();
    await c.subscribe('edge.room.*', (m) => (wild.push(m), arrived.notify()));
    await publisher.publish('edge.room.1', 6);
    await arrived.wait(() => wild.length === 1, 5000, 'the live message on the pattern');
    await c.subscribe('edge.room.1', (m) => (exact.push(m), arrived.notify()), { since: 0 });
    await publisher.publish('edge.room.1', 7);
    await arrived.wait(() => exact.length === 7 && wild.length === 2, 5000, 'replay and live');
    expect(exact.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(wild.map((m) => m.seq)).toEqual([6, 7]);
  });

  it('orders presence joins and leaves among the topic messages, at every watcher', async () => {
    const watcherA = await client();
    const watcherB = await client();
    const logs: Record<string, string[]> = { a: [], b: [] };
    const changed = new Condition();
    const watch = (name: 'a' | 'b') => ({
      onPresence: (e: PresenceEvent) => (logs[name]!.push(`${e.type}:${e.client}@${e.seq}`), changed.notify()),
    });
    const subA = await watcherA.subscribe('edge.game', (m) => (logs['a']!.push(`msg${m.seq}`), changed.notify()), { presence: { hidden: true }, ...watch('a') });
    await watcherB.subscribe('edge.game', (m) => (logs['b']!.push(`msg${m.seq}`), changed.notify()), { presence: { hidden: true }, ...watch('b') });
    const player = await connect(broker.url, { clientId: 'player-1' });
    await player.publish('edge.game', 'before');
    const playerSub = await player.subscribe('edge.game', () => {}, { presence: { info: { name: 'ann' } } });
    await player.publish('edge.game', 'during');
    await playerSub.unsubscribe();
    await player.publish('edge.game', 'after');
    await player.close();
    const expected = ['msg1', 'join:player-1@1', 'msg2', 'leave:player-1@2', 'msg3'];
    await changed.wait(() => logs['a']!.length === 5 && logs['b']!.length === 5, 5000, 'both watchers');
    expect(logs['a']).toEqual(expected);
    expect(logs['b']).toEqual(expected);
    expect(subA.presence).toEqual({});
  });

  it('bounds the publishes waiting for an answer', async () => {
    const c = await client({ publishQueueMax: 10 });
    const accepted = Array.from({ length: 10 }, (_, i) => c.publish('edge.window', i));
    await expect(c.publish('edge.window', 'one too many')).rejects.toBeInstanceOf(QueueFullError);
    await Promise.all(accepted);
    expect(await c.publish('edge.window', 'room again')).toEqual({ seq: 11 });
    await expect(connect(broker.url, { publishQueueMax: 5000 })).rejects.toThrow(/publishQueueMax/);
  });

  it('closes connections beyond the limit with 4006', async () => {
    const sockets = Array.from({ length: 25 }, () => new WebSocket(broker.url));
    try {
      const outcomes = await within(
        Promise.all(
          sockets.map(
            (ws) =>
              new Promise<'welcome' | number>((resolve) => {
                ws.on('error', () => {});
                ws.once('open', () => ws.send(encodeFrame([{ type: 'hello', v: 1 }])));
                ws.once('message', () => resolve('welcome'));
                ws.once('close', (code) => resolve(code));
              }),
          ),
        ),
        10_000,
        'every socket welcomed or closed',
      );
      const refused = outcomes.filter((o) => o === CloseCode.TooManyConnections).length;
      const welcomed = outcomes.filter((o) => o === 'welcome').length;
      expect(refused).toBeGreaterThan(0);
      expect(welcomed + refused).toBe(25);
      expect(welcomed).toBeLessThanOrEqual(20);
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });
});
