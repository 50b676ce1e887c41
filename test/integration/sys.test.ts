// Proves the admin topic `$sys` on real broker processes: nobody may publish to it (WebSocket or
// HTTP, the API key included); under --auth jwt a subscribe needs the API key or a grant that
// names `$sys` (a `>` grant is not enough, and a `>` wildcard subscription never receives it); in
// anonymous mode an API key closes it to clients without the key; nothing is published while
// nobody watches; and on a three-broker mesh a subscriber at one broker sees every broker's
// snapshot and the lightweight-group table, and the entry of a broker killed with -9 goes.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, ErrorCode, type Client } from '../../client/index.js';
import type { SysSnapshot } from '../../broker/topics/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness } from '../helpers/mesh.js';
import { Condition } from '../helpers/wait.js';

const secret = 'integration-test-secret-of-32-chars-or-more';
const apiKey = 'an-api-key-for-the-sys-tests';

async function token(subscribe: string[]): Promise<string> {
  return new SignJWT({ sub: 'ops', chorus: { publish: ['>'], subscribe, presence: ['>'] } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(secret));
}

type Brokers = Record<string, SysSnapshot>;

/** Subscribes to `$sys` with state; `until` waits for the brokers' entries to satisfy a check. */
async function watch(client: Client): Promise<{ brokers(): Brokers; until(check: (b: Brokers) => boolean, what: string, ms?: number): Promise<void> }> {
  const changed = new Condition();
  const sub = await client.subscribe('$sys', () => changed.notify(), { state: true });
  const brokers = (): Brokers => ((sub.state as { brokers?: Brokers } | null)?.brokers ?? {});
  return {
    brokers,
    until: (check, what, ms = 15_000) =>
      changed.wait(() => check(brokers()), ms, what).catch((err: Error) => Promise.reject(new Error(`${err.message}; $sys: ${JSON.stringify(Object.keys(brokers()))}`))),
  };
}

const clients: Client[] = [];
async function open(url: string, options: Parameters<typeof connect>[1] = {}): Promise<Client> {
  const c = await connect(url, { reconnect: { enabled: false }, ...options });
  clients.push(c);
  return c;
}

describe('$sys on one broker', () => {
  let broker: BrokerProcess | undefined;
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await broker?.stop();
    broker = undefined;
  });

  it('under --auth jwt: readable with the API key or a grant naming $sys, never publishable, never reached by a wildcard', async () => {
    broker = await startBrokerProcess(['--auth', 'jwt', '--jwt-secret', secret, '--api-key', apiKey]);
    const plain = await open(broker.url, { token: await token(['room.*']) });
    const wide = await open(broker.url, { token: await token(['>']) });
    const admin = await open(broker.url, { token: await token(['$sys']) });
    const operator = await open(broker.url, { token: apiKey });
    await expect(plain.subscribe('$sys', () => {})).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(wide.subscribe('$sys', () => {})).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    const leaked: string[] = [];
    const arrived = new Condition();
    await wide.subscribe('>', (m) => (leaked.push(m.topic), arrived.notify()));
    for (const c of [admin, operator]) {
      const sys = await watch(c);
      await sys.until((b) => Object.values(b).some((s) => s.name !== '' && s.view !== undefined && s.connections >= 4), 'a snapshot of this broker');
    }
    for (const c of [wide, admin, operator]) await expect(c.publish('$sys', { brokers: {} })).rejects.toMatchObject({ code: ErrorCode.ReservedTopic });
    const post = await fetch(`${broker.httpUrl}/api/v1/topics/$sys`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: '{"data":{}}' });
    expect(post.status).toBe(400);
    expect(((await post.json()) as { code: number }).code).toBe(ErrorCode.ReservedTopic);
    const read = (credential: string): Promise<Response> => fetch(`${broker!.httpUrl}/api/v1/topics/$sys`, { headers: { authorization: `Bearer ${credential}` } });
    expect((await read(apiKey)).status).toBe(200);
    expect((await read(await token(['>']))).status).toBe(403);
    expect((await read(await token(['$sys']))).status).toBe(200);
    // A message on a plain topic reaches the wildcard, after several of `$sys`'s: none of those did.
    await operator.publish('room.1', 'x');
    await arrived.wait(() => leaked.includes('room.1'), 5000, 'room.1 at the wildcard');
    expect(leaked.filter((t) => t.startsWith('$'))).toEqual([]);
  });

  it('in anonymous mode with an API key: clients without the key are refused; without a key anyone reads it, and nothing is published while nobody watches', async () => {
    broker = await startBrokerProcess(['--api-key', apiKey]);
    await expect((await open(broker.url)).subscribe('$sys', () => {})).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    const sys = await watch(await open(broker.url, { token: apiKey }));
    await sys.until((b) => Object.keys(b).length === 1, 'its snapshot');
    await broker.stop();

    broker = await startBrokerProcess([]);
    // Nothing published before anyone watches (over a long idle stretch: test/unit/sys-driver.test.ts).
    const before = (await (await fetch(`${broker.httpUrl}/api/v1/topics/$sys`)).json()) as { seq: number };
    expect(before.seq).toBe(0);
    const anyone = await watch(await open(broker.url));
    await anyone.until((b) => Object.keys(b).length === 1, 'its snapshot');
    const snapshot = Object.values(anyone.brokers())[0]!;
    expect(snapshot).toMatchObject({ v: 1, mode: 'single', ready: true, view: { id: 1, primary: true }, http: broker.httpUrl });
    expect(snapshot.view!.members).toEqual([snapshot.id]);
  });
});

describe('$sys on a three-broker mesh', () => {
  const mesh = new MeshHarness();
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await mesh.finish('$sys mesh');
  }, 30_000);

  it('shows every broker and the group table at any broker, and drops a broker killed with -9', { timeout: 60_000 }, async () => {
    const brokers = await mesh.start(3);
    const ids = await Promise.all([0, 1, 2].map((i) => mesh.memberOf(i)));
    const sys = await watch(await open(brokers[2]!.url));
    await sys.until((b) => ids.every((id) => b[id]?.view?.members.length === 3), 'all three brokers, each in a view of three');
    const withTable = Object.values(sys.brokers()).filter((s) => s.groups !== undefined && s.groups !== null);
    expect(withTable).toHaveLength(1);
    expect(withTable[0]!.groups).toHaveLength(32);
    for (const [, owners, ready, , , sequencer] of withTable[0]!.groups!) {
      expect(owners).toHaveLength(2);
      expect(ready.length).toBeGreaterThanOrEqual(1);
      // Nobody publishes: every stream is sequenced where the view placed it, at its first owner.
      expect(sequencer).toBe(owners[0]);
    }
    await mesh.kill(0);
    await sys.until((b) => b[ids[0]!] === undefined && [ids[1]!, ids[2]!].every((id) => b[id]?.view?.members.length === 2), 'the killed broker gone', 20_000);
    expect([...sys.brokers()[ids[2]!]!.views.at(-1)!.members].sort()).toEqual([ids[1], ids[2]].sort());
  });
});
