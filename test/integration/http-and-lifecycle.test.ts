// Proves the HTTP API, health and metrics endpoints and the process lifecycle on real broker
// processes: publish and read over HTTP with schema-validated bodies and typed errors; a bad flag
// stops start-up with a clear message; SIGTERM drains clients with close code 4000 and they
// resume on another broker.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Message } from '../../client/index.js';
import { CloseCode, ErrorCode } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition, nextEvent, within } from '../helpers/wait.js';

describe('HTTP API', () => {
  let broker: BrokerProcess;
  beforeAll(async () => {
    broker = await startBrokerProcess(['--payload-bytes-max', '1KiB']);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const post = (topic: string, body: unknown, raw = false): Promise<Response> =>
    fetch(`${broker.httpUrl}/api/v1/topics/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ? (body as string) : JSON.stringify(body),
    });

  it('publishes and reads a topic, reaching WebSocket subscribers', async () => {
    const client = await connect(broker.url);
    const got: Message[] = [];
    const arrived = new Condition();
    await client.subscribe('http.room', (m) => (got.push(m), arrived.notify()), { presence: { info: { who: 'ws' } } });
    const first = await post('http.room', { data: { a: 1 }, kind: 'state' });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ topic: 'http.room', seq: 1 });
    expect(await (await post('http.room', { data: { b: 2 }, kind: 'patch' })).json()).toEqual({ topic: 'http.room', seq: 2 });
    expect(await (await post('http.room', { data: 'plain event' })).json()).toEqual({ topic: 'http.room', seq: 3 });
    await arrived.wait(() => got.length === 3, 5000, 'three messages');
    expect(got.map((m) => [m.seq, m.kind, m.client])).toEqual([
      [1, 'state', undefined],
      [2, 'patch', undefined],
      [3, 'event', undefined],
    ]);
    const read = (await (await fetch(`${broker.httpUrl}/api/v1/topics/http.room`)).json()) as Record<string, unknown>;
    expect(read).toMatchObject({ topic: 'http.room', seq: 3, state: { a: 1, b: 2 }, subscribers: 1 });
    expect(Object.values(read['presence'] as object)).toEqual([{ client: client.clientId, info: { who: 'ws' } }]);
    await client.close();
  });

  const refusals: Array<[string, string, unknown, boolean, number, number]> = [
    ['a body without data', 'http.x', { kind: 'event' }, false, 400, ErrorCode.BadRequest],
    ['an unknown kind', 'http.x', { data: 1, kind: 'delete' }, false, 400, ErrorCode.BadRequest],
    ['an extra field', 'http.x', { data: 1, admin: true }, false, 400, ErrorCode.BadRequest],
    ['broken JSON', 'http.x', '{"data":', true, 400, ErrorCode.BadRequest],
    ['a __proto__ key', 'http.x', '{"data":{"__proto__":{"x":1}}}', true, 400, ErrorCode.BadRequest],
    ['an invalid topic', 'bad..topic', { data: 1 }, false, 400, ErrorCode.InvalidTopic],
    ['a wildcard topic', 'http.*', { data: 1 }, false, 400, ErrorCode.InvalidTopic],
    ['a reserved topic', '$sys', { data: 1 }, false, 400, ErrorCode.ReservedTopic],
    ['a payload over the limit', 'http.x', { data: 'x'.repeat(1500) }, false, 413, ErrorCode.PayloadTooLarge],
    ['data nested 40 deep', 'http.x', `{"data":${'['.repeat(40)}${']'.repeat(40)}}`, true, 400, ErrorCode.BadRequest],
  ];
  it.each(refusals)('refuses %s with status and code', async (_what, topic, body, raw, status, code) => {
    const response = await post(encodeURIComponent(topic), body, raw);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ code, message: expect.any(String) });
  });

  it('applies a publish retried with the same Idempotency-Key once, and says it was a retry', async () => {
    const publish = (key?: string) =>
      fetch(`${broker.httpUrl}/api/v1/topics/http.idem`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) }, body: JSON.stringify({ data: 'x' }) });
    expect(await (await publish('order-17')).json()).toEqual({ topic: 'http.idem', seq: 1 });
    expect(await (await publish('order-17')).json()).toEqual({ topic: 'http.idem', seq: 1, dup: true });
    expect(await (await publish('order-18')).json()).toEqual({ topic: 'http.idem', seq: 2 });
    expect(await (await publish()).json()).toEqual({ topic: 'http.idem', seq: 3 });
    expect(await (await publish()).json()).toEqual({ topic: 'http.idem', seq: 4 });
    const bad = await publish('no spaces allowed');
    expect(bad.status).toBe(400);
    const read = (await (await fetch(`${broker.httpUrl}/api/v1/topics/http.idem`)).json()) as { seq: number };
    expect(read.seq).toBe(4);
  });

  it('serves health, the cluster view, metrics and the browser bundle', async () => {
    expect(await (await fetch(`${broker.httpUrl}/livez`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${broker.httpUrl}/readyz`)).status).toBe(200);
    const cluster = (await (await fetch(`${broker.httpUrl}/api/v1/cluster`)).json()) as Record<string, unknown>;
    expect(cluster).toMatchObject({ broker: broker.brokerId, ready: true, view: { members: [broker.brokerId] } });
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    for (const name of ['chorus_connections', 'chorus_subscriptions', 'chorus_topics', 'chorus_messages_in_total', 'chorus_messages_out_total', 'chorus_publish_deliver_seconds_bucket', 'process_cpu_seconds_total', 'chorus_build_info']) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/chorus_messages_in_total\{via="http"\} [1-9]/);
    const bundle = await fetch(`${broker.httpUrl}/client.js`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(1000);
    // Anonymous mode: any page may load the client (CORS reflects its origin).
    expect((await fetch(`${broker.httpUrl}/client.js`, { headers: { origin: 'https://game.example' } })).headers.get('access-control-allow-origin')).toBe('https://game.example');
    expect((await fetch(`${broker.httpUrl}/nowhere`)).status).toBe(404);
  });
});

describe('process lifecycle', () => {
  it('refuses a bad flag at start-up with a message that names it', async () => {
    const cli = resolve(import.meta.dirname, '../../dist/broker/main/cli.js');
    const child = spawn(process.execPath, [cli, '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await within(once(child, 'exit'), 10_000, 'exit')) as [number];
    expect(code).toBe(2);
    expect(stderr).toContain('--port: "eighty" is not a whole number');
  });

  it('drains on SIGTERM: clients get 4000 and resume on another broker', async () => {
    const a = await startBrokerProcess();
    const b = await startBrokerProcess();
    try {
      const client = await connect([a.url, b.url], { reconnect: { delayMinMs: 10, delayMaxMs: 100 } });
      await client.subscribe('drain.me', () => {});
      const disconnected = nextEvent<{ code: number }>(client, 'disconnected', 10_000);
      const reconnected = nextEvent<{ broker: string }>(client, 'reconnected', 10_000);
      expect(await a.stop('SIGTERM')).toBe(0);
      expect((await disconnected).code).toBe(CloseCode.Draining);
      expect((await reconnected).broker).toBe(b.brokerId);
      const read = (await (await fetch(`${b.httpUrl}/api/v1/topics/drain.me`)).json()) as { subscribers: number };
      expect(read.subscribers).toBe(1);
      await client.close();
    } finally {
      await a.stop('SIGKILL');
      await b.stop();
    }
  });
});
