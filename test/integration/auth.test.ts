// Proves authentication and permissions against real broker processes with --auth jwt: forged,
// expired, unsigned (alg none) and algorithm-confused tokens are refused with 4504; a valid token
// grants exactly its patterns on every path — subscribe, wildcard (no escalation past the grants),
// resume, state, presence, publish, the HTTP API (API key or token) — while a well-behaved client
// on the same broker keeps receiving; browser origins are refused unless listed; an expired token
// is refreshed without reconnecting by a client with a token function, and a connection without
// one is closed with 4007 after the grace period.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client, type Message } from '../../client/index.js';
import { CloseCode, ErrorCode, type ServerMessage } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Raw } from '../helpers/raw-socket.js';
import { Condition, nextEvent } from '../helpers/wait.js';

const secret = 'integration-test-secret-of-32-chars-or-more';
const apiKey = 'an-api-key-for-the-tests';
const grants = { publish: ['room.1'], subscribe: ['room.*', 'calm.stream'], presence: ['room.1'] };

async function token(claims: Record<string, unknown> = {}, key = secret, exp: string | number = '10m'): Promise<string> {
  return new SignJWT({ sub: 'alice', chorus: grants, ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(key));
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Opens a raw connection, says hello with `t`, and returns the close code (or 0 if welcomed). */
async function helloOutcome(url: string, t: string | undefined): Promise<number> {
  const raw = new Raw(url);
  await raw.opened;
  raw.send([{ type: 'hello', v: 1, ...(t === undefined ? {} : { token: t }) }]);
  await raw.changed.wait(() => raw.closeCode !== undefined || raw.received.some((m) => m.type === 'welcome'), 5000, 'welcome or close');
  const code = raw.closeCode ?? 0;
  raw.ws.close();
  return code;
}

describe('authentication (HS256 secret)', () => {
  let broker: BrokerProcess;
  let calm: Client;
  const calmGot: Message[] = [];
  const calmArrived = new Condition();

  beforeAll(async () => {
    broker = await startBrokerProcess(['--auth', 'jwt', '--jwt-secret', secret, '--api-key', apiKey, '--token-grace-ms', '400', '--origins', 'https://good.example']);
    calm = await connect(broker.url, { token: await token() });
    await calm.subscribe('calm.stream', (m) => (calmGot.push(m), calmArrived.notify()));
  });
  afterAll(async () => {
    await calm?.close();
    await broker?.stop();
  });

  /** Something published through the HTTP API reaches the calm subscriber: the broker is up and serving. */
  async function calmStillServed(): Promise<void> {
    const before = calmGot.length;
    const res = await fetch(`${broker.httpUrl}/api/v1/topics/calm.stream`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify({ data: before }) });
    expect(res.status).toBe(200);
    await calmArrived.wait(() => calmGot.length > before, 5000, 'the calm subscriber');
    expect(calmGot.map((m) => m.seq)).toEqual(Array.from({ length: calmGot.length }, (_, i) => i + 1));
  }

  it('refuses missing, forged, expired, unsigned and malformed tokens with 4504', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string | undefined]> = [
      ['no token', undefined],
      ['forged', await token({}, 'another-secret-that-is-32-chars-long!!')],
      ['expired', await token({}, secret, now - 60)],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', chorus: { subscribe: ['>'] } })}.`],
      ['garbage', 'x.y.z'],
      ['sub not a string', await token({ sub: null })],
      ['sub a number', await token({ sub: 42 })],
    ];
    for (const [why, t] of cases) expect(await helloOutcome(broker.url, t), why).toBe(CloseCode.Unauthorized);
    // The client library gives up (4504 is in the do-not-reconnect range).
    await expect(connect(broker.url, { token: 'nope', reconnect: { delayMinMs: 10, delayMaxMs: 20 } })).rejects.toThrow(/4504/);
    await calmStillServed();
  });

  it("grants exactly the token's patterns: subscribe, wildcard, resume, presence, publish", async () => {
    const raw = new Raw(broker.url);
    await raw.hello(await token());
    let id = 0;
    const ask = async (message: Record<string, unknown>): Promise<ServerMessage> => {
      raw.send([{ ...message, id: ++id }]);
      return raw.answer(id);
    };
    const code = (m: ServerMessage): number | 'ok' => (m.type === 'error' ? m.code : 'ok');
    expect(code(await ask({ type: 'sub', topic: 'room.2', state: true }))).toBe('ok');
    expect(code(await ask({ type: 'sub', topic: 'secret.plans' }))).toBe(ErrorCode.Forbidden);
    expect(code(await ask({ type: 'sub', topic: 'room.>' }))).toBe(ErrorCode.Forbidden); // wildcard escalation
    expect(code(await ask({ type: 'sub', topic: '>' }))).toBe(ErrorCode.Forbidden);
    expect(code(await ask({ type: 'sub', topic: '*.*' }))).toBe(ErrorCode.Forbidden);
    expect(code(await ask({ type: 'sub', topic: 'room.*' }))).toBe('ok');
    expect(code(await ask({ type: 'sub', topic: 'secret.plans', since: 0 }))).toBe(ErrorCode.Forbidden); // resume into a forbidden topic
    expect(code(await ask({ type: 'sub', topic: 'room.3', presence: {} }))).toBe(ErrorCode.Forbidden);
    expect(code(await ask({ type: 'sub', topic: 'room.1', presence: { info: 'alice' } }))).toBe('ok');
    expect(code(await ask({ type: 'pub', topic: 'room.2', data: 'no' }))).toBe(ErrorCode.Forbidden);
    expect(code(await ask({ type: 'pub', topic: 'secret.plans', data: 'no' }))).toBe(ErrorCode.Forbidden);
    expect(code(await ask({ type: 'pub', topic: 'room.1', data: 'yes' }))).toBe('ok');
    // Another client's token used by someone else grants the same: no more.
    const thief = new Raw(broker.url);
    await thief.hello(await token({ sub: 'bob', chorus: { subscribe: ['room.9'] } }));
    thief.send([{ type: 'sub', id: 1, topic: 'room.1' }]);
    expect(code(await thief.answer(1))).toBe(ErrorCode.Forbidden);
    raw.ws.close();
    thief.ws.close();
    await calmStillServed();
  });

  it('protects the HTTP API with the API key or a token, with the same permissions', async () => {
    const post = (topic: string, auth?: string) =>
      fetch(`${broker.httpUrl}/api/v1/topics/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth === undefined ? {} : { authorization: auth }) }, body: JSON.stringify({ data: 1 }) });
    expect((await post('room.1')).status).toBe(401);
    expect((await post('room.1', 'Bearer wrong-key-wrong-key')).status).toBe(401);
    expect((await post('room.1', `Bearer ${apiKey}`)).status).toBe(200);
    expect((await post('room.1', `Bearer ${await token()}`)).status).toBe(200);
    expect((await post('room.2', `Bearer ${await token()}`)).status).toBe(403);
    expect((await fetch(`${broker.httpUrl}/api/v1/topics/secret.plans`, { headers: { authorization: `Bearer ${await token()}` } })).status).toBe(403);
    expect((await fetch(`${broker.httpUrl}/api/v1/topics/room.1`, { headers: { authorization: `Bearer ${await token()}` } })).status).toBe(200);
    // Who is present is shown only with presence permission.
    const seen = async (t: string) => (await (await fetch(`${broker.httpUrl}/api/v1/topics/room.2`, { headers: { authorization: `Bearer ${t}` } })).json()) as Record<string, unknown>;
    expect(await seen(await token())).not.toHaveProperty('presence');
    expect(await seen(await token({ chorus: { subscribe: ['room.*'], presence: ['room.*'] } }))).toHaveProperty('presence');
    expect((await fetch(`${broker.httpUrl}/api/v1/cluster`)).status).toBe(401);
    expect((await fetch(`${broker.httpUrl}/api/v1/cluster`, { headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(200);
    // Health and metrics stay open (for probes and scrapers).
    expect((await fetch(`${broker.httpUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${broker.httpUrl}/metrics`)).status).toBe(200);
  });

  it('opens WebSockets only from listed browser origins', async () => {
    const from = async (origin: string): Promise<string> => {
      const raw = new Raw(broker.url, { origin });
      return raw.opened.then(
        () => (raw.ws.close(), 'open'),
        () => 'refused',
      );
    };
    expect(await from('https://good.example')).toBe('open');
    expect(await from('https://evil.example')).toBe('refused');
    expect(await from('http://good.example')).toBe('refused');
  });

  it('tells a client the id others see it by: subject|clientId', async () => {
    const c = await connect(broker.url, { token: await token(), clientId: 'tab-1' });
    try {
      expect(c.publicId).toBe('alice|tab-1');
      const sub = await c.subscribe('room.1', () => {}, { presence: {} });
      expect(Object.values(sub.presence!).map((e) => e.client)).toContain('alice|tab-1');
    } finally {
      await c.close();
    }
  });

  it('lets only a grant that covers it read the lobby $rooms, and nobody publish to it', async () => {
    const plain = await connect(broker.url, { token: await token() });
    const granted = await connect(broker.url, { token: await token({ chorus: { ...grants, subscribe: ['room.*', '$rooms'], publish: ['>'] } }) });
    try {
      await expect(plain.subscribe('$rooms', () => {})).rejects.toMatchObject({ code: ErrorCode.Forbidden });
      expect((await granted.subscribe('$rooms', () => {}, { state: true })).state).toBeNull();
      await expect(granted.publish('$rooms', { x: 1 })).rejects.toMatchObject({ code: ErrorCode.ReservedTopic });
      await expect(granted.subscribe('$other', () => {})).rejects.toMatchObject({ code: ErrorCode.ReservedTopic });
    } finally {
      await Promise.all([plain.close(), granted.close()]);
    }
  });

  it('answers CORS for the listed origins only, on /client.js and the HTTP API', async () => {
    const preflight = (origin: string): Promise<Response> =>
      fetch(`${broker.httpUrl}/api/v1/topics/room.1`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    const good = await preflight('https://good.example');
    expect(good.status).toBe(204);
    expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
    expect(good.headers.get('access-control-allow-methods')).toContain('POST');
    expect(good.headers.get('access-control-allow-headers')).toContain('authorization');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    const bundle = await fetch(`${broker.httpUrl}/client.js`, { headers: { origin: 'https://good.example' } });
    expect(bundle.headers.get('access-control-allow-origin')).toBe('https://good.example');
    const refused = await fetch(`${broker.httpUrl}/client.js`, { headers: { origin: 'https://evil.example' } });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refreshes an expired token without reconnecting; without a token function the connection is closed with 4007', async () => {
    let issued = 0;
    const refreshing = await connect(broker.url, { token: async () => token({}, secret, Math.floor(Date.now() / 1000) + (++issued === 1 ? 1 : 600)) });
    const got: Message[] = [];
    const arrived = new Condition();
    await refreshing.subscribe('room.1', (m) => (got.push(m), arrived.notify()));
    const fixed = await connect(broker.url, { token: await token({}, secret, Math.floor(Date.now() / 1000) + 1), reconnect: { enabled: false } });
    const closed = nextEvent<{ code: number }>(fixed, 'closed', 10_000);
    const disconnects: number[] = [];
    refreshing.on('disconnected', ({ code }) => disconnects.push(code));
    expect((await closed).code).toBe(CloseCode.TokenExpired);
    expect(issued).toBe(2);
    await fetch(`${broker.httpUrl}/api/v1/topics/room.1`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify({ data: 'after' }) });
    await arrived.wait(() => got.some((m) => m.data === 'after'), 5000, 'delivery after the refresh');
    expect(disconnects).toEqual([]);
    await refreshing.close();
    await fixed.close();
  });

  it('refuses a refresh for another subject, or one that no longer allows a held subscription', async () => {
    const raw = new Raw(broker.url);
    await raw.hello(await token());
    raw.send([{ type: 'sub', id: 1, topic: 'room.2' }]);
    await raw.answer(1);
    raw.send([{ type: 'refresh', id: 2, token: await token({ sub: 'bob' }) }]);
    expect(await raw.answer(2)).toMatchObject({ type: 'error', code: ErrorCode.Forbidden });
    raw.send([{ type: 'refresh', id: 3, token: await token({ chorus: { subscribe: ['room.1'] } }) }]);
    expect(await raw.answer(3)).toMatchObject({ type: 'error', code: ErrorCode.Forbidden });
    raw.send([{ type: 'refresh', id: 4, token: 'forged.token.here' }]);
    expect(await raw.answer(4)).toMatchObject({ type: 'error', code: ErrorCode.Unauthorized });
    raw.ws.close();
    // Refreshes are rate-limited (each verifies a signature): a few pass, a flood does not.
    const other = new Raw(broker.url);
    await other.hello(await token());
    const good = await token();
    other.send(Array.from({ length: 10 }, (_, i) => ({ type: 'refresh', id: 10 + i, token: good })));
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => other.answer(10 + i)));
    expect(answers[0]).toMatchObject({ type: 'reply', id: 10 });
    expect(answers.filter((a) => a.type === 'error' && (a.code === ErrorCode.RateLimited || a.code === ErrorCode.TooManyRequests)).length).toBeGreaterThanOrEqual(7);
    other.ws.close();
  });

  it('binds client ids to the token subject: no one publishes or de-duplicates under another subject\'s client id', async () => {
    const alice = new Raw(broker.url);
    await alice.opened;
    alice.send([{ type: 'hello', v: 1, client: 'shared-id', token: await token() }]);
    await alice.changed.wait(() => alice.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
    const mallory = new Raw(broker.url);
    await mallory.opened;
    mallory.send([{ type: 'hello', v: 1, client: 'shared-id', token: await token({ sub: 'mallory', chorus: { publish: ['room.1'] } }) }]);
    await mallory.changed.wait(() => mallory.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
    const welcome = (r: Raw) => r.received.find((m) => m.type === 'welcome') as { client: string };
    expect(welcome(alice).client).toBe('alice|shared-id');
    expect(welcome(mallory).client).toBe('mallory|shared-id');
    // Mallory publishes with the publish id Alice is about to use: Alice's publish is applied all the same.
    mallory.send([{ type: 'pub', id: 1, topic: 'room.1', data: 'mallory', pid: 1 }]);
    expect(await mallory.answer(1)).toMatchObject({ type: 'reply' });
    alice.send([{ type: 'pub', id: 1, topic: 'room.1', data: 'alice', pid: 1 }]);
    const reply = await alice.answer(1);
    expect(reply).toMatchObject({ type: 'reply' });
    expect((reply as { dup?: boolean }).dup).toBeUndefined();
    alice.ws.close();
    mallory.ws.close();
  });

  it('counts what it refused, by way and reason (after the tests above, on the same broker)', async () => {
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    const count = (via: string, reason: string): number => Number(new RegExp(`^chorus_auth_failures_total\\{via="${via}",reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('ws', 'missing')).toBeGreaterThanOrEqual(1);
    expect(count('ws', 'expired')).toBeGreaterThanOrEqual(2); // an expired hello, and a connection closed with 4007
    expect(count('ws', 'signature')).toBeGreaterThanOrEqual(1);
    expect(count('ws', 'malformed')).toBeGreaterThanOrEqual(1);
    expect(count('ws', 'forbidden')).toBeGreaterThanOrEqual(1);
    expect(count('http', 'missing')).toBeGreaterThanOrEqual(1);
    expect(count('http', 'forbidden')).toBeGreaterThanOrEqual(1);
  });
});

describe('authentication (RS256 public key)', () => {
  it('accepts RS256 tokens and refuses an HS256 token signed with the public key (algorithm confusion)', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const dir = mkdtempSync(join(tmpdir(), 'chorus-auth-'));
    writeFileSync(join(dir, 'public.pem'), pem);
    const broker = await startBrokerProcess(['--auth', 'jwt', '--jwt-public-key', join(dir, 'public.pem'), '--jwt-issuer', 'https://issuer.example']);
    try {
      const privateKey = pair.privateKey;
      const good = await new SignJWT({ sub: 'alice', iss: 'https://issuer.example', chorus: grants }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('5m').sign(privateKey);
      expect(await helloOutcome(broker.url, good)).toBe(0);
      const confused = await new SignJWT({ sub: 'mallory', iss: 'https://issuer.example', chorus: { subscribe: ['>'] } }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(pem));
      expect(await helloOutcome(broker.url, confused)).toBe(CloseCode.Unauthorized);
      const wrongIssuer = await new SignJWT({ sub: 'alice', iss: 'https://evil.example' }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      expect(await helloOutcome(broker.url, wrongIssuer)).toBe(CloseCode.Unauthorized);
      // Anonymous mode's default of any origin does not hold with authentication on.
      const raw = new Raw(broker.url, { origin: 'https://any.example' });
      expect(await raw.opened.then(() => 'open', () => 'refused')).toBe('refused');
    } finally {
      await broker.stop();
    }
  });

  it('will not start with a contradictory configuration', async () => {
    await expect(startBrokerProcess(['--auth', 'jwt'])).rejects.toThrow(/exactly one of/);
    await expect(startBrokerProcess(['--jwt-secret', secret])).rejects.toThrow(/--auth jwt/);
    await expect(startBrokerProcess(['--auth', 'jwt', '--jwt-secret', 'too-short-secret'])).rejects.toThrow(/32 characters/);
  });
});

