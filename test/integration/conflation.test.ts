// Proves conflation on a real broker process (--conflate): a subscriber whose socket stops reading
// gets, once it reads again, the latest event of each publisher and far fewer messages than were
// published, every jump marked as a skip (never taken for a loss); a subscriber that keeps up on
// the same topic gets every message in order; a topic that is not conflated reaches the slow
// subscriber whole.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type Client, type Message } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition } from '../helpers/wait.js';

/** A `ws` socket whose reading the test can stop and start (the TCP socket underneath is paused). */
class PausableWebSocket extends WebSocket {
  static last: PausableWebSocket | undefined;
  constructor(url: string) {
    super(url);
    PausableWebSocket.last = this;
  }
  get tcp(): { pause(): void; resume(): void } {
    return (this as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  }
}

describe('conflation', () => {
  let broker: BrokerProcess | undefined;
  let clients: Client[] = [];
  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
    await broker?.stop();
    broker = undefined;
  });

  it('gives a slow subscriber the latest per publisher with marked skips, and a fast one everything', { timeout: 120_000 }, async () => {
    broker = await startBrokerProcess(['--conflate', 'conf.*.pos', '--rate-bytes', '0', '--rate-publishes', '0', '--outbound-bytes-max', '128MiB']);
    const open = async (options = {}): Promise<Client> => {
      const c = await connect(broker!.url, { reconnect: { enabled: false }, ...options });
      clients.push(c);
      return c;
    };
    const errors: Error[] = [];
    const slow = await open({ WebSocket: PausableWebSocket as never });
    const slowSocket = PausableWebSocket.last!;
    const fast = await open();
    const publishers = [await open(), await open()];
    for (const c of [slow, fast, ...publishers]) c.on('error', (e) => errors.push(e));
    const got = { slow: [] as Message[], fast: [] as Message[], bulk: [] as Message[] };
    const arrived = new Condition();
    await slow.subscribe('conf.bulk', (m) => (got.bulk.push(m), arrived.notify()));
    await slow.subscribe('conf.1.pos', (m) => (got.slow.push(m), arrived.notify()));
    await fast.subscribe('conf.1.pos', (m) => (got.fast.push(m), arrived.notify()));

    // The slow subscriber stops reading, and 36 MiB on a topic that is not conflated fill its
    // socket's buffers at both ends: from then on the broker has bytes it cannot write to it.
    slowSocket.tcp.pause();
    const bulk = new Uint8Array(60 * 1024);
    for (let i = 0; i < 600; i += 20) await Promise.all(Array.from({ length: 20 }, () => publishers[0]!.publish('conf.bulk', bulk)));

    // Positions from two publishers at a pace a reader keeps up with.
    const perPublisher = 500;
    for (let i = 0; i < perPublisher; i += 25) {
      await Promise.all(publishers.flatMap((p) => Array.from({ length: 25 }, (_, k) => p.publish('conf.1.pos', { x: i + k }))));
    }
    const total = 2 * perPublisher;
    await arrived.wait(() => got.fast.length === total, 60_000, 'the fast subscriber gets every position');
    slowSocket.tcp.resume();
    await arrived.wait(() => got.slow.at(-1)?.seq === total, 60_000, 'the slow subscriber reaches the last position');

    expect(got.fast.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(got.fast.every((m) => m.skipped === undefined)).toBe(true);
    expect(got.bulk.map((m) => m.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    // A bounded number of positions, every jump marked: seq = previous + 1 + skipped.
    expect(got.slow.length).toBeLessThan(total / 4);
    let last = 0;
    for (const m of got.slow) {
      expect(m.seq).toBe(last + 1 + (m.skipped ?? 0));
      last = m.seq;
    }
    // The latest value of each publisher arrived.
    for (const p of publishers) expect(got.slow.filter((m) => m.client === p.clientId).at(-1)?.data).toEqual({ x: perPublisher - 1 });
    expect(errors).toEqual([]);
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/chorus_messages_conflated_total [1-9]/);
  });
});
