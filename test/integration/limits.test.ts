// Proves the per-connection rate limits and the per-IP connection limit against a real broker:
// a publish flood and a subscribe storm get RateLimited, and a connection that keeps at it is
// closed with 4008, while a well-behaved subscriber on the same broker keeps receiving, gap-free;
// connections beyond the per-IP limit are closed with 4006; with --internal-port, /metrics, /livez
// and /readyz are served there and not on the client port; a reader that leaves data unread past
// the age limit is cut as a slow consumer although it never passes the byte limit; malformed
// WebSocket frames (reserved bits, unmasked, unknown opcode, fragmented control frame) close that
// connection only; 1000 stalled readers leave the broker's memory bounded and a calm subscriber's
// latency low (printed before and during).
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client, type Message } from '../../client/index.js';
import { CloseCode, ErrorCode } from '../../client/protocol/index.js';
import { TokenBucket } from '../../broker/server/rate-limits.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Raw } from '../helpers/raw-socket.js';
import { Condition, within } from '../helpers/wait.js';

describe('token bucket', () => {
  it('allows a burst, then the rate, and never refuses with rate 0', () => {
    const b = new TokenBucket(10, 10, 0);
    let taken = 0;
    while (b.take(1, 0)) taken++;
    expect(taken).toBe(10);
    expect(b.take(1, 50)).toBe(false);
    expect(b.take(1, 100)).toBe(true);
    expect(b.take(5, 600)).toBe(true);
    const off = new TokenBucket(0, 0, 0);
    for (let i = 0; i < 1000; i++) expect(off.take(1_000_000, 0)).toBe(true);
  });
});

describe('rate and connection limits', () => {
  let broker: BrokerProcess;
  let calm: Client;
  let publisher: Client;
  const calmGot: Message[] = [];
  const calmArrived = new Condition();

  beforeAll(async () => {
    broker = await startBrokerProcess(['--rate-publishes', '50', '--rate-subscribes', '20', '--connections-per-ip', '8']);
    calm = await connect(broker.url);
    await calm.subscribe('calm.stream', (m) => (calmGot.push(m), calmArrived.notify()));
    publisher = await connect(broker.url);
  });
  afterAll(async () => {
    await calm?.close();
    await publisher?.close();
    await broker?.stop();
  });

  async function calmStillServed(): Promise<void> {
    const before = calmGot.length;
    await publisher.publish('calm.stream', before);
    await calmArrived.wait(() => calmGot.length > before, 5000, 'the calm subscriber');
    expect(calmGot.map((m) => m.seq)).toEqual(Array.from({ length: calmGot.length }, (_, i) => i + 1));
  }

  it('refuses a publish flood with RateLimited, then closes the flooder with 4008', async () => {
    const raw = new Raw(broker.url);
    await raw.hello();
    // 2000 publishes in a few frames: the first second's worth (50) pass, the rest are refused.
    for (let f = 0; f < 20; f++) raw.send(Array.from({ length: 100 }, (_, i) => ({ type: 'pub', id: f * 100 + i + 1, topic: 'flood.x', data: i })));
    expect(await raw.closeCodeWithin(5000)).toBe(CloseCode.RateLimited);
    const errors = raw.received.filter((m) => m.type === 'error' && m.code === ErrorCode.RateLimited);
    const replies = raw.received.filter((m) => m.type === 'reply');
    expect(errors.length).toBeGreaterThanOrEqual(20);
    expect(replies.length).toBeLessThanOrEqual(60);
    await calmStillServed();
  });

  it('refuses a subscribe storm with RateLimited; a connection that stays within the rate is never refused', async () => {
    const raw = new Raw(broker.url);
    await raw.hello();
    raw.send(Array.from({ length: 30 }, (_, i) => ({ type: 'sub', id: i + 1, topic: `storm.${i}` })));
    await raw.answer(30);
    const limited = raw.received.filter((m) => m.type === 'error' && m.code === ErrorCode.RateLimited).length;
    expect(limited).toBeGreaterThanOrEqual(5);
    expect(limited).toBeLessThanOrEqual(15);
    raw.ws.close();
    // The client library's own publishes, one at a time, stay under 50/s.
    for (let i = 0; i < 20; i++) await publisher.publish('calm.other', i);
    await calmStillServed();
  });

  it('closes connections beyond the per-IP limit with 4006', async () => {
    // calm and the publisher hold 2 of the 8 this address may have.
    const raws: Raw[] = [];
    const outcomes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const raw = new Raw(broker.url);
      raws.push(raw);
      await raw.opened;
      raw.send([{ type: 'hello', v: 1 }]);
      await raw.changed.wait(() => raw.closeCode !== undefined || raw.received.some((m) => m.type === 'welcome'), 5000, 'welcome or close');
      outcomes.push(raw.closeCode ?? 0);
    }
    expect(outcomes).toEqual([0, 0, 0, 0, 0, 0, CloseCode.TooManyConnections, CloseCode.TooManyConnections]);
    for (const raw of raws) raw.ws.close();
    await Promise.all(raws.map((r) => r.closed));
    // Their places are free again.
    const again = new Raw(broker.url);
    await again.hello();
    again.ws.close();
    await calmStillServed();
  });
});

describe('internal port', () => {
  it('serves /metrics, /livez and /readyz on the internal port only', async () => {
    const broker = await startBrokerProcess(['--internal-port', '0']);
    try {
      const listening = await broker.waitForEvent((e) => e['event'] === 'listening', 1000, 'listening');
      const internal = `http://127.0.0.1:${String(listening['internalPort'])}`;
      for (const path of ['/metrics', '/livez', '/readyz']) {
        expect((await fetch(`${internal}${path}`)).status, path).toBe(200);
        expect((await fetch(`${broker.httpUrl}${path}`)).status, path).toBe(404);
      }
      expect((await fetch(`${broker.httpUrl}/api/v1/cluster`)).status).toBe(200);
    } finally {
      await broker.stop();
    }
  });
});

describe('slow readers and malformed WebSocket frames', () => {
  let broker: BrokerProcess;
  beforeAll(async () => {
    // No inbound byte rate here: these tests are about readers, and a fast machine's publisher
    // would pass the default 32 MiB/s.
    broker = await startBrokerProcess(['--outbound-bytes-max', '512MiB', '--outbound-age-max-ms', '1000', '--connections-per-ip', '2000', '--pending-per-ip', '1000', '--pending-max', '2000', '--rate-bytes', '0']);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('cuts a reader that leaves data unread past the age limit, below the byte limit', async () => {
    const raw = new Raw(broker.url);
    await raw.hello();
    raw.send([{ type: 'sub', id: 1, topic: 'trickle' }]);
    await raw.answer(1);
    // Stop reading — and keep ws from resuming the socket when its own buffer drains.
    const socket = (raw.ws as unknown as { _socket: { pause(): unknown; resume(): unknown } })._socket;
    const resume = socket.resume.bind(socket);
    socket.resume = () => socket;
    socket.pause();
    const publisher = await connect(broker.url);
    const calmGot: Message[] = [];
    const calmArrived = new Condition();
    const calm = await connect(broker.url);
    await calm.subscribe('trickle', (m) => (calmGot.push(m), calmArrived.notify()));
    // Fill the kernel's socket buffers (a few MB), far below the 512 MiB byte limit, and keep
    // data coming until the broker reports the cut (bounded: 60 batches of 100 × 30 KB). A paused
    // reader does not see its close until it reads again.
    const slowCut = async (): Promise<boolean> => /^chorus_slow_consumers_total 1$/m.test(await (await fetch(`${broker.httpUrl}/metrics`)).text());
    // Only what the broker acknowledged is waited for: a refused publish was never sent on.
    let acknowledged = 0;
    for (let batch = 0; batch < 60 && !(await slowCut()); batch++) {
      const answers = await Promise.allSettled(Array.from({ length: 100 }, () => publisher.publish('trickle', 'x'.repeat(30_000))));
      acknowledged += answers.filter((a) => a.status === 'fulfilled').length;
      await calmArrived.wait(() => calmGot.length >= acknowledged, 10_000, 'the calm subscriber');
    }
    expect(acknowledged).toBeGreaterThan(0);
    expect(await slowCut()).toBe(true);
    socket.resume = resume;
    resume();
    // Its close frame sat behind megabytes it never read, so it may see 4001 or just the reset.
    expect([CloseCode.SlowConsumer, CloseCode.Abnormal]).toContain(await within(raw.closed, 10_000, 'the slow reader to see its close'));
    expect(calmGot.map((m) => m.seq)).toEqual(Array.from({ length: calmGot.length }, (_, i) => i + 1));
    await publisher.close();
    await calm.close();
  });

  it('holds up under 1000 stalled readers: bounded memory, and a calm subscriber keeps its latency', async () => {
    const publisher = await connect(broker.url);
    const calm = await connect(broker.url);
    const latencies: number[] = [];
    const calmArrived = new Condition();
    await calm.subscribe('calm.latency', (m) => (latencies.push(performance.now() - (m.data as number)), calmArrived.notify()));
    const measure = async (count: number): Promise<number[]> => {
      const from = latencies.length;
      for (let i = 0; i < count; i++) {
        await publisher.publish('calm.latency', performance.now());
        await calmArrived.wait(() => latencies.length > from + i, 10_000, 'the calm subscriber');
      }
      return latencies.slice(from).sort((a, b) => a - b);
    };
    const before = await measure(50);
    // 1000 readers subscribe to a busy topic and never read again.
    // Opened a hundred at a time: what is under test is a thousand readers that stopped reading,
    // not a thousand handshakes at once (on a loaded CI machine one of those was sometimes cut
    // before its upgrade was read — "socket hang up" — failing the test for the wrong reason).
    const stalled: Raw[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const opened = Array.from({ length: 100 }, () => new Raw(broker.url));
      await Promise.all(opened.map((r) => r.hello()));
      stalled.push(...opened);
    }
    stalled.forEach((r, i) => r.send([{ type: 'sub', id: i + 1, topic: 'busy' }]));
    await Promise.all(stalled.map((r, i) => r.answer(i + 1)));
    for (const r of stalled) {
      const socket = (r.ws as unknown as { _socket: { pause(): unknown; resume(): unknown } })._socket;
      socket.resume = () => socket;
      socket.pause();
    }
    for (let i = 0; i < 50; i++) void publisher.publish('busy', 'b'.repeat(1024));
    await publisher.flush();
    const during = await measure(50);
    const p = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
    console.info(`calm publish-to-deliver, ms: before p50 ${p(before, 0.5).toFixed(1)} p99 ${p(before, 0.99).toFixed(1)}; with 1000 stalled readers p50 ${p(during, 0.5).toFixed(1)} p99 ${p(during, 0.99).toFixed(1)}`);
    expect(p(during, 0.99)).toBeLessThan(2000);
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    expect(Number(/^process_resident_memory_bytes (\d+)/m.exec(metrics)?.[1])).toBeLessThan(1024 * 1024 * 1024);
    expect(Number(/^chorus_connections (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1000);
    for (const r of stalled) r.ws.terminate();
    await publisher.close();
    await calm.close();
  });

  it('closes a connection that sends a malformed WebSocket frame, and only that one', async () => {
    const calm = await connect(broker.url);
    const frames: Array<[string, number[]]> = [
      ['reserved bit set', [0xc2, 0x80 | 1, 1, 2, 3, 4, 0]],
      ['unmasked client frame', [0x82, 0x01, 0x00]],
      ['unknown opcode', [0x83, 0x80, 1, 2, 3, 4]],
      ['fragmented control frame', [0x09, 0x80, 1, 2, 3, 4]],
    ];
    for (const [what, bytes] of frames) {
      const ended = await new Promise<string>((resolve) => {
        const socket = tcpConnect({ host: '127.0.0.1', port: broker.port }, () => {
          socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
        });
        let upgraded = false;
        socket.on('data', (chunk) => {
          if (!upgraded && chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
            upgraded = true;
            socket.write(Buffer.from(bytes));
          }
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve(upgraded ? 'closed after upgrade' : 'closed before upgrade'));
        setTimeout(() => socket.destroy(), 10_000).unref();
      });
      expect(ended, what).toBe('closed after upgrade');
    }
    // The broker is up and serves others.
    const { seq } = await calm.publish('after.frames', 1);
    expect(seq).toBe(1);
    await calm.close();
  });
});
