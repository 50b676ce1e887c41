// Proves that every way into a topic reaches every broker of a mesh alike: HTTP publishes of each
// kind (event, state, patch) at each of three brokers, an Idempotency-Key retry answered as the
// first (and a reuse with another body refused, 422), WebSocket publishes of binary and nested
// data, and a presence join and leave — subscribers on all three brokers see the same messages
// in the same order with the same payloads, and every broker's topic page and history agree.
// (Payloads cross links as the bytes the edge encoded: docs/mesh.md, "How a publish travels".)
import { afterEach, expect, it } from 'vitest';
import type { Message, PresenceEvent } from '../../client/index.js';
import { MeshHarness } from '../helpers/mesh.js';
import { Condition } from '../helpers/wait.js';

const mesh = new MeshHarness();
afterEach((context) => mesh.finish(context.task.name));

it('carries HTTP and WebSocket publishes of every kind, and presence, to every broker alike', async () => {
  const brokers = await mesh.start(3);
  const changed = new Condition();
  const got: Array<Array<{ seq: number; kind: string; data: unknown }>> = [[], [], []];
  const pres: string[][] = [[], [], []];
  const subs = [];
  for (let i = 0; i < 3; i++) {
    const c = await mesh.client(brokers[i]!.url);
    subs.push(await c.subscribe('mix.topic', (m: Message) => (got[i]!.push({ seq: m.seq, kind: m.kind, data: m.data }), changed.notify()), { presence: { hidden: true }, onPresence: (e: PresenceEvent) => (pres[i]!.push(`${e.type}:${e.client}`), changed.notify()) }));
  }
  const post = async (b: number, body: unknown, key?: string) => {
    const r = await fetch(`${brokers[b]!.httpUrl}/api/v1/topics/mix.topic`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const r1 = await post(0, { data: { a: 1, s: 'x'.repeat(40) } });
  const r2 = await post(1, { data: { hp: 3 }, kind: 'state' });
  const r3 = await post(2, { data: { hp: 4, q: null }, kind: 'patch' });
  const r4 = await post(0, { data: [1, 2, 3] }, 'k1');
  const r5 = await post(2, { data: [1, 2, 3] }, 'k1');
  const r6 = await post(1, { data: [9] }, 'k1');
  expect([r1, r2, r3, r4].map((r) => r.status)).toEqual([200, 200, 200, 200]);
  expect(r5.body).toMatchObject({ seq: r4.body.seq, dup: true });
  expect(r6.status).toBe(422);
  // A WS publisher with binary data and a pid, through each broker.
  const pubs = [];
  for (let i = 0; i < 3; i++) pubs.push(await mesh.client(brokers[i]!.url, { clientId: `p${i}` }));
  await pubs[0]!.publish('mix.topic', new Uint8Array([1, 2, 3, 250]));
  await pubs[1]!.publish('mix.topic', { nested: { deep: [1, { x: 'y' }] } });
  // presence join from b1
  const joiner = await mesh.client(brokers[1]!.url, { clientId: 'joiner' });
  const js = await joiner.subscribe('mix.topic', () => {}, { presence: { info: { n: 1 } } });
  await pubs[2]!.publish('mix.topic', 'after-join');
  await js.unsubscribe();
  await pubs[2]!.publish('mix.topic', 'after-leave');
  await changed.wait(() => got.every((g) => g.length === 8) && pres.every((p) => p.length === 2), 20_000, 'all');
  for (let i = 1; i < 3; i++) expect(got[i]).toEqual(got[0]);
  expect(got[0]!.map((m) => m.data)).toEqual([{ a: 1, s: 'x'.repeat(40) }, { hp: 3 }, { hp: 4, q: null }, [1, 2, 3], new Uint8Array([1, 2, 3, 250]), { nested: { deep: [1, { x: 'y' }] } }, 'after-join', 'after-leave']);
  for (const p of pres) expect(p).toEqual(['join:joiner', 'leave:joiner']);
  for (let i = 0; i < 3; i++) {
    const t = (await (await fetch(`${brokers[i]!.httpUrl}/api/v1/topics/mix.topic`)).json()) as { seq: number; state: unknown };
    expect(t).toMatchObject({ seq: 8, state: { hp: 4 } });
    const h = (await (await fetch(`${brokers[i]!.httpUrl}/api/v1/topics/mix.topic/history?from=1&limit=100`)).json()) as { messages: Array<{ data: unknown }> };
    expect(h.messages.length).toBe(8);
    expect(h.messages[0]!.data).toEqual({ a: 1, s: 'x'.repeat(40) });
  }
}, 120_000);
