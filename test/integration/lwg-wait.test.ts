// Proves, with five real broker processes, that a lightweight group whose every owner is cut off
// at once (alive, behind a partition) waits for them instead of starting again empty
// (docs/mesh.md, "Waiting groups"): the majority goes on, refuses the group's publishes meanwhile,
// and once the partition heals the owners' new incarnations bring their copies back — every
// acknowledged publish is still there, under the same epoch, and a subscriber that stayed on the
// majority side sees every seq once. The property checker reads every core log afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../client/index.js';
import { applyMergePatch } from '../../client/protocol/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness, since } from '../helpers/mesh.js';
import { Condition, within } from '../helpers/wait.js';

const mesh = new MeshHarness();
afterEach((context) => mesh.finish(context.task.name));

const nameOf = (member: string): string => member.split('#')[0]!;

async function metric(b: BrokerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${b.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('a group whose every owner is cut off', () => {
  it('waits for their copies and comes back to them with every acknowledged publish', async () => {
    const brokers = await mesh.start(5);
    const b0 = brokers[0]!;
    // A topic both of whose owners are b3 and b4: the side the partition cuts off.
    const cluster = (await (await fetch(`${b0.httpUrl}/api/v1/cluster`)).json()) as { lwgs: Array<{ owners: string[] }> };
    const { lwgOf } = await import('../../lightweight-groups/index.js');
    let topic = '';
    for (let n = 0; topic === '' && n < 10_000; n++) {
      const owners = cluster.lwgs[lwgOf(`wait.room.${n}`, cluster.lwgs.length)]!.owners.map(nameOf).sort();
      if (owners.join() === 'b3,b4') topic = `wait.room.${n}`;
    }
    const lwg = lwgOf(topic, cluster.lwgs.length);
    const majority = [0, 1, 2].map((i) => brokers[i]!.url);
    const publisher = await mesh.client(majority);
    const acked = await within(Promise.all(Array.from({ length: 30 }, (_, n) => publisher.publish(topic, { [`k${n % 7}`]: n }, { kind: 'patch' }))), 20_000, '30 acknowledgements');
    expect(acked.map((a) => a.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // A subscriber with state on the majority side: its broker keeps the topic for it.
    const got: Message[] = [];
    const arrived = new Condition();
    const subscriber = await mesh.client(brokers[1]!.url);
    const sub = await subscriber.subscribe(topic, (m) => (got.push(m), arrived.notify()), { state: true });
    const epoch = sub.epoch;
    expect(sub.snapshot!.seq).toBe(30);

    const cut = since();
    mesh.net.partition([0, 1, 2], [3, 4]);
    await b0.waitForEvent((e) => e['event'] === 'lwg-waiting' && e['lwg'] === lwg && cut(e), 30_000, 'the group to wait for b3 and b4');
    // (Brokers that let go of a ready copy in the same view are waited for too: they answer at once.)
    expect(b0.latest((e) => e['event'] === 'lwg-waiting' && e['lwg'] === lwg)!['for']).toEqual(expect.arrayContaining(['b3', 'b4']));
    // Published while the group waits: refused as Unavailable and applied nowhere. The library
    // sends it again on the same connection after a backoff (every broker would refuse it alike),
    // without moving its subscriptions; the HTTP API answers 503.
    const disconnects: unknown[] = [];
    publisher.on('disconnected', (e) => disconnects.push(e));
    const during = publisher.publish(topic, { during: true }, { kind: 'patch' });
    const http = await fetch(`${b0.httpUrl}/api/v1/topics/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'patch', data: { http: true } }) });
    expect(http.status).toBe(503);
    expect(await http.json()).toMatchObject({ code: 503, error: 'Unavailable' });
    expect(await metric(b0, 'chorus_lwg_refused_total')).toBeGreaterThan(0);
    mesh.net.heal();
    await within(Promise.race([3, 4].map((i) => brokers[i]!.waitForEvent((e) => e['event'] === 'lwg-salvaged' && e['lwg'] === lwg && cut(e), 60_000, `b${i} to bring its copy back`))), 61_000, 'a copy back');
    const last = await within(during, 60_000, 'the publish made during the wait');
    expect(last.seq).toBe(31);
    expect(disconnects).toEqual([]);
    await arrived.wait(() => sub.seq === 31, 30_000, 'the subscriber at seq 31');
    expect(got.map((m) => m.seq)).toEqual([31]);
    expect(sub.epoch).toBe(epoch);
    // A new subscriber anywhere loads the copy that came back: all 31, the state folded from them.
    const late = await mesh.client(brokers[2]!.url);
    const again = await late.subscribe(topic, () => {}, { state: true });
    expect([again.snapshot!.seq, again.epoch]).toEqual([31, epoch]);
    let state: unknown = null;
    for (let n = 0; n < 30; n++) state = applyMergePatch(state, { [`k${n % 7}`]: n });
    expect(again.snapshot!.state).toEqual(applyMergePatch(state, { during: true }));
    for (const b of brokers) expect(b.latest((e) => e['event'] === 'lwg-state-lost')).toBeUndefined();
  }, 180_000);
});
