// Proves the HTTP API's breadth on real broker processes: topics listed by pattern and paged by
// name; a topic's retained messages read from a seq, paged, with 410 and the earliest seq kept when
// `from` is older than what is kept; presence with a real WebSocket client in it; a client kicked
// (4506) or sent to reconnect (4009) and seeing the code and reason; an Idempotency-Key reused with
// another body refused with 422; the OpenAPI document listing every /api/v1 route; and, with
// authentication on, every new route refusing a request without credentials, a token's grants
// bounding what it sees, and only the API key disconnecting sessions.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../client/index.js';
import { CloseCode, ErrorCode } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { nextEvent } from '../helpers/wait.js';

/** A JSON answer, read loosely (the assertions say what it must hold). */
type Json = Record<string, any>;

/** Every route of the API, as the OpenAPI document must list it. */
const routes: Array<[string, string]> = [
  ['post', '/api/v1/topics/{topic}'],
  ['get', '/api/v1/topics/{topic}'],
  ['get', '/api/v1/topics'],
  ['get', '/api/v1/topics/{topic}/history'],
  ['get', '/api/v1/topics/{topic}/presence'],
  ['delete', '/api/v1/sessions/{id}'],
  ['get', '/api/v1/cluster'],
  ['get', '/api/v1/openapi.json'],
];

describe('HTTP API routes (anonymous mode)', () => {
  let broker: BrokerProcess;
  const clients: Client[] = [];
  beforeAll(async () => {
    broker = await startBrokerProcess(['--history-length-max', '5']);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await broker?.stop();
  });

  const get = async (path: string): Promise<[number, Json]> => {
    const response = await fetch(`${broker.httpUrl}${path}`);
    return [response.status, (await response.json()) as Json];
  };
  const publish = async (topic: string, body: unknown, key?: string): Promise<[number, Json]> => {
    const response = await fetch(`${broker.httpUrl}/api/v1/topics/${encodeURIComponent(topic)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
      body: JSON.stringify(body),
    });
    return [response.status, (await response.json()) as Json];
  };
  const disconnect = async (client: string, query = ''): Promise<[number, Json]> => {
    const response = await fetch(`${broker.httpUrl}/api/v1/sessions/${encodeURIComponent(client)}${query}`, { method: 'DELETE' });
    return [response.status, (await response.json()) as Json];
  };

  it('lists topics by pattern, paged by name across two pages, with seq and subscribers', async () => {
    for (const topic of ['list.c', 'list.a', 'list.b', 'list.b', 'other.x', 'list.deep.one']) expect((await publish(topic, { data: topic }))[0]).toBe(200);
    const client = await connect(broker.url);
    clients.push(client);
    await client.subscribe('list.b', () => {});

    const [status, first] = await get('/api/v1/topics?pattern=list.*&limit=2');
    expect(status).toBe(200);
    expect(first['topics']).toEqual([
      { topic: 'list.a', seq: 1, epoch: expect.any(String), subscribers: 0 },
      { topic: 'list.b', seq: 2, epoch: expect.any(String), subscribers: 1 },
    ]);
    expect(first['next']).toBe('list.b');
    const [, second] = await get(`/api/v1/topics?pattern=list.*&limit=2&after=${first['next']}`);
    expect(second['topics'].map((t: Json) => t['topic'])).toEqual(['list.c']);
    expect(second['next']).toBeNull();
    // `>` takes the deeper name too; the default pattern lists everything, sorted.
    expect((await get('/api/v1/topics?pattern=list.>'))[1]['topics'].map((t: Json) => t['topic'])).toEqual(['list.a', 'list.b', 'list.c', 'list.deep.one']);
    const all = (await get('/api/v1/topics'))[1]['topics'].map((t: Json) => t['topic']) as string[];
    expect(all).toEqual([...all].sort());
    expect(all).toContain('other.x');
    expect((await get('/api/v1/topics?pattern=nothing.here'))[1]).toEqual({ topics: [], next: null });
  });

  it.each([
    ['limit 0', '?limit=0', ErrorCode.BadRequest],
    ['limit over 1000', '?limit=1001', ErrorCode.BadRequest],
    ['a limit that is not a number', '?limit=ten', ErrorCode.BadRequest],
    ['an unknown parameter', '?sort=desc', ErrorCode.BadRequest],
    ['a bad pattern', '?pattern=list..a', ErrorCode.InvalidTopic],
    ['> not last', '?pattern=%3E.a', ErrorCode.InvalidTopic],
  ])('refuses a topic listing with %s (400)', async (_what, query, code) => {
    const [status, body] = await get(`/api/v1/topics${query}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ code, message: expect.any(String) });
  });

  it("reads a topic's retained messages from a seq, paged, and says when `from` is older than what is kept", async () => {
    const client = await connect(broker.url, { clientId: 'writer' });
    clients.push(client);
    for (let i = 1; i <= 7; i++) expect((await publish('hist.t', { data: { i }, kind: i === 1 ? 'state' : 'event' }))[1]['seq']).toBe(i);
    await client.publish('hist.t', { i: 8 });
    // History keeps 5 (--history-length-max): seqs 4 … 8.
    const [status, all] = await get('/api/v1/topics/hist.t/history');
    expect(status).toBe(200);
    expect(all).toMatchObject({ topic: 'hist.t', seq: 8, firstSeq: 4, next: null, epoch: expect.any(String) });
    expect(all['messages'].map((m: Json) => [m['seq'], m['kind'], m['data']])).toEqual([4, 5, 6, 7, 8].map((i) => [i, 'event', { i }]));
    expect(all['messages'][0]).not.toHaveProperty('client');
    expect(all['messages'][4]['client']).toBe('writer');
    expect(typeof all['messages'][0]['ts']).toBe('number');

    const page = async (from: number) => (await get(`/api/v1/topics/hist.t/history?from=${from}&limit=2`))[1];
    expect((await page(4))['messages'].map((m: Json) => m['seq'])).toEqual([4, 5]);
    expect((await page(4))['next']).toBe(6);
    expect((await page(6))['messages'].map((m: Json) => m['seq'])).toEqual([6, 7]);
    expect((await page(8))).toMatchObject({ next: null });
    expect((await page(8))['messages'].map((m: Json) => m['seq'])).toEqual([8]);
    expect((await get('/api/v1/topics/hist.t/history?from=9'))[1]).toMatchObject({ messages: [], next: null, seq: 8 });

    const [gone, truncated] = await get('/api/v1/topics/hist.t/history?from=3');
    expect(gone).toBe(410);
    expect(truncated).toMatchObject({ code: ErrorCode.HistoryTruncated, error: 'HistoryTruncated', firstSeq: 4, seq: 8 });
    expect(truncated['message']).toMatch(/earliest kept is seq 4/);

    // A topic that does not exist: nothing kept, nothing to refuse.
    expect((await get('/api/v1/topics/hist.none/history'))).toEqual([200, { topic: 'hist.none', epoch: '', seq: 0, firstSeq: null, messages: [], next: null }]);
    expect((await get('/api/v1/topics/hist.none/history?from=1'))[0]).toBe(200);
    for (const [query, code] of [['?from=0', ErrorCode.BadRequest], ['?limit=1001', ErrorCode.BadRequest], ['?from=-1', ErrorCode.BadRequest], ['?from=1.5', ErrorCode.BadRequest]] as const) {
      const [s, body] = await get(`/api/v1/topics/hist.t/history${query}`);
      expect([query, s, body['code']]).toEqual([query, 400, code]);
    }
    expect((await get('/api/v1/topics/hist..t/history'))[1]['code']).toBe(ErrorCode.InvalidTopic);
    expect((await get('/api/v1/topics/hist.*/history'))[1]['code']).toBe(ErrorCode.InvalidTopic);
  });

  it('shows who is present: a real WebSocket client subscribed with presence', async () => {
    const member = await connect(broker.url, { clientId: 'ann' });
    const lurker = await connect(broker.url, { clientId: 'lurker' });
    clients.push(member, lurker);
    const sub = await member.subscribe('room.p', () => {}, { presence: { info: { name: 'Ann' } } });
    await lurker.subscribe('room.p', () => {}, { presence: { hidden: true } });
    // One broker orders a join in the turn that answers the subscribe, and a leave in the one
    // that answers the unsubscribe: each is applied before the client hears back.
    const presence = async () => (await get('/api/v1/topics/room.p/presence'))[1];
    const seen = await presence();
    expect(seen).toMatchObject({ topic: 'room.p', seq: 0, count: 1 });
    expect(seen['presence']).toEqual({ [member.session!]: { client: 'ann', info: { name: 'Ann' } } });
    await sub.unsubscribe();
    expect(await presence()).toMatchObject({ count: 0, presence: {} });
    expect((await get('/api/v1/topics/room.nobody/presence'))[1]).toEqual({ topic: 'room.nobody', seq: 0, count: 0, presence: {} });
    expect((await get('/api/v1/topics/room.*/presence'))[0]).toBe(400);
  });

  it('disconnects a client by its public id: the client sees 4506 and the reason, and does not come back', async () => {
    const victim = await connect(broker.url, { clientId: 'victim', reconnect: { delayMinMs: 10, delayMaxMs: 50 } });
    const bystander = await connect(broker.url, { clientId: 'bystander' });
    clients.push(victim, bystander);
    await victim.subscribe('kick.room', () => {}, { presence: {} });
    const session = victim.session!;
    const disconnected = nextEvent<{ code: number; reason: string }>(victim, 'disconnected', 5000);
    const closed = nextEvent<{ code: number }>(victim, 'closed', 5000);
    const [status, body] = await disconnect('victim', '?reason=spamming%20the%20room');
    expect(status).toBe(200);
    expect(body).toEqual({ client: 'victim', sessions: [session], code: CloseCode.Kicked, reason: 'spamming the room' });
    expect(await disconnected).toEqual({ code: CloseCode.Kicked, reason: 'spamming the room' });
    expect((await closed).code).toBe(CloseCode.Kicked);
    expect(bystander.connected).toBe(true);
    // Gone: a second request finds nobody, and its presence entry left with it.
    const [again, missing] = await disconnect('victim');
    expect(again).toBe(404);
    expect(missing).toMatchObject({ code: ErrorCode.UnknownSession, error: 'UnknownSession' });
    expect((await get('/api/v1/topics/kick.room/presence'))[1]['count']).toBe(0);
  });

  it('with reconnect=true the client sees 4009 and comes back; a session id narrows it to one session', async () => {
    const client = await connect(broker.url, { clientId: 'mover', reconnect: { delayMinMs: 10, delayMaxMs: 50 } });
    clients.push(client);
    const first = client.session!;
    expect((await disconnect('mover', `?session=not-${first}`))[0]).toBe(404);
    const disconnected = nextEvent<{ code: number; reason: string }>(client, 'disconnected', 5000);
    const reconnected = nextEvent<unknown>(client, 'reconnected', 5000);
    const [status, body] = await disconnect('mover', `?session=${encodeURIComponent(first)}&reconnect=true`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ sessions: [first], code: CloseCode.Disconnected, reason: 'disconnected by an operator' });
    expect(await disconnected).toEqual({ code: CloseCode.Disconnected, reason: 'disconnected by an operator' });
    await reconnected;
    expect(client.session).not.toBe(first);
    for (const query of ['?reconnect=yes', '?reason=%0Anewline', `?reason=${'x'.repeat(121)}`, '?kick=1']) expect((await disconnect('mover', query))[0]).toBe(400);
  });

  it('refuses an Idempotency-Key reused with a different body (422); the same body is still a retry', async () => {
    expect(await publish('idem.t', { data: { a: 1, b: [1, 2] } }, 'order-1')).toEqual([200, { topic: 'idem.t', seq: 1 }]);
    // The same body, its keys in another order: the same request.
    expect(await publish('idem.t', { data: { b: [1, 2], a: 1 } }, 'order-1')).toEqual([200, { topic: 'idem.t', seq: 1, dup: true }]);
    const [status, body] = await publish('idem.t', { data: { a: 2, b: [1, 2] } }, 'order-1');
    expect(status).toBe(422);
    expect(body).toMatchObject({ code: ErrorCode.IdempotencyKeyReused, error: 'IdempotencyKeyReused' });
    expect(body['message']).toMatch(/different body/);
    expect((await publish('idem.t', { data: { a: 1, b: [1, 2] }, kind: 'state' }, 'order-1'))[0]).toBe(422);
    expect((await get('/api/v1/topics/idem.t'))[1]['seq']).toBe(1);
    expect(await publish('idem.t', { data: { a: 1, b: [1, 2] } }, 'order-1')).toEqual([200, { topic: 'idem.t', seq: 1, dup: true }]);
    expect(await publish('idem.t', { data: { a: 2, b: [1, 2] } }, 'order-2')).toEqual([200, { topic: 'idem.t', seq: 2 }]);
  });

  it('serves an OpenAPI 3 document that lists every /api/v1 route, each with responses', async () => {
    const [status, doc] = await get('/api/v1/openapi.json');
    expect(status).toBe(200);
    expect(doc['openapi']).toMatch(/^3\.\d+\.\d+$/);
    expect(doc['info']).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const listed = Object.entries(doc['paths'] as Json).flatMap(([path, item]) => Object.keys(item as Json).filter((k) => ['get', 'post', 'put', 'delete', 'patch', 'head', 'options'].includes(k)).map((method) => [method, path]));
    expect(listed.sort()).toEqual([...routes].sort());
    for (const [method, path] of routes) {
      const operation = doc['paths'][path][method] as Json;
      const statuses = Object.keys(operation['responses']);
      expect(statuses.some((s) => s.startsWith('2')), `${method} ${path}`).toBe(true);
      for (const s of statuses) expect(operation['responses'][s], `${method} ${path} ${s}`).toHaveProperty('description');
      for (const p of path.match(/\{(\w+)\}/g) ?? []) expect(operation['parameters'].some((q: Json) => q['in'] === 'path' && `{${q['name']}}` === p), `${method} ${path} ${p}`).toBe(true);
    }
    expect(doc['paths']['/api/v1/topics']['get']['parameters'].map((p: Json) => p['name']).sort()).toEqual(['after', 'limit', 'pattern']);
    expect(doc['paths']['/api/v1/topics/{topic}/history']['get']['responses']).toHaveProperty('410');
    expect(doc['paths']['/api/v1/topics/{topic}']['post']['responses']).toHaveProperty('422');
  });
});

const secret = 'http-api-test-secret-of-32-chars-or-more';
const apiKey = 'an-api-key-for-the-http-api-tests';

async function token(chorus: Json): Promise<string> {
  return new SignJWT({ sub: 'bob', chorus }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(secret));
}

describe('HTTP API routes with authentication', () => {
  let broker: BrokerProcess;
  beforeAll(async () => {
    broker = await startBrokerProcess(['--auth', 'jwt', '--jwt-secret', secret, '--api-key', apiKey]);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const call = async (method: string, path: string, credential?: string): Promise<[number, Json]> => {
    const response = await fetch(`${broker.httpUrl}${path}`, { method, headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` } });
    return [response.status, (await response.json()) as Json];
  };

  it('refuses every new route without credentials, and serves it with the API key', async () => {
    const writer = await token({ publish: ['>'], subscribe: ['>'] });
    for (const topic of ['auth.a', 'auth.b', 'secret.x']) {
      const response = await fetch(`${broker.httpUrl}/api/v1/topics/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` }, body: JSON.stringify({ data: 1 }) });
      expect(response.status).toBe(200);
    }
    const paths: Array<[string, string, number]> = [
      ['GET', '/api/v1/topics', 200],
      ['GET', '/api/v1/topics/auth.a/history', 200],
      ['GET', '/api/v1/topics/auth.a/presence', 200],
      ['DELETE', '/api/v1/sessions/nobody', 404],
    ];
    for (const [method, path, ok] of paths) {
      const [refused, body] = await call(method, path);
      expect([method, path, refused, body['code']]).toEqual([method, path, 401, ErrorCode.Unauthorized]);
      expect((await call(method, path, 'not-the-key-not-the-key'))[0]).toBe(401);
      expect([method, path, (await call(method, path, apiKey))[0]]).toEqual([method, path, ok]);
    }
    // The document describes the API, no data: open.
    expect((await call('GET', '/api/v1/openapi.json'))[0]).toBe(200);
  });

  it("bounds a token by its grants: listing, history and presence; only the API key disconnects", async () => {
    const reader = await token({ subscribe: ['auth.*'] });
    expect((await call('GET', '/api/v1/topics', reader))[1]['topics'].map((t: Json) => t['topic'])).toEqual(['auth.a', 'auth.b']);
    expect((await call('GET', '/api/v1/topics', apiKey))[1]['topics'].map((t: Json) => t['topic'])).toEqual(['auth.a', 'auth.b', 'secret.x']);
    expect((await call('GET', '/api/v1/topics/auth.a/history', reader))[0]).toBe(200);
    expect((await call('GET', '/api/v1/topics/secret.x/history', reader))).toEqual([403, expect.objectContaining({ code: ErrorCode.Forbidden })]);
    // Presence takes presence permission as well as subscribe.
    expect((await call('GET', '/api/v1/topics/auth.a/presence', reader))[0]).toBe(403);
    expect((await call('GET', '/api/v1/topics/auth.a/presence', await token({ subscribe: ['auth.*'], presence: ['auth.a'] })))[0]).toBe(200);
    // A client connected with a token cannot be disconnected with a token, only with the API key.
    const client = await connect(broker.url, { token: reader, clientId: 'tab', reconnect: { enabled: false } });
    try {
      const id = encodeURIComponent(client.publicId!);
      expect(client.publicId).toBe('bob|tab');
      expect((await call('DELETE', `/api/v1/sessions/${id}`, await token({ publish: ['>'], subscribe: ['>'], presence: ['>'] })))).toEqual([403, expect.objectContaining({ code: ErrorCode.Forbidden })]);
      expect(client.connected).toBe(true);
      const closed = nextEvent<{ code: number }>(client, 'closed', 5000);
      expect((await call('DELETE', `/api/v1/sessions/${id}`, apiKey))[1]).toMatchObject({ client: 'bob|tab', code: CloseCode.Kicked });
      expect((await closed).code).toBe(CloseCode.Kicked);
    } finally {
      await client.close();
    }
  });
});
