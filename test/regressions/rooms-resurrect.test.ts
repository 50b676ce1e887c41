// Regression: a room that expired is not listed again by a broker that loads its topic from a
// snapshot (restarted, leading the room's stream): a room it never saw with players is not
// announced, only expired (a no-op for the lobby).
import { afterEach, expect, it } from 'vitest';
import { lwgOf, ownersOf } from '../../lightweight-groups/index.js';
import { MeshHarness, since } from '../helpers/mesh.js';
import { Condition } from '../helpers/wait.js';

const mesh = new MeshHarness();
afterEach((context) => mesh.finish(context.task.name));


it('does not list again a room that expired when its leader restarts', { timeout: 120_000 }, async () => {
  const brokers = await mesh.start(3, {}, ['--rooms', 'room.*', '--room-empty-ms', '1500']);
  const cluster = (await (await fetch(`${brokers[0]!.httpUrl}/api/v1/cluster`)).json()) as { lwgs: unknown[] };
  // Two rooms announced by b0 (their stream's sequencer) and kept by b1 as well.
  const found: string[] = [];
  for (let n = 0; n < 10_000 && found.length < 2; n++) {
    const owners = ownersOf(lwgOf(`room.${n}`, cluster.lwgs.length), ['b0', 'b1', 'b2'], 2);
    if (owners[0] === 'b0' && owners[1] === 'b1') found.push(`room.${n}`);
  }
  const [room, marker] = found as [string, string];
  const watcher = await mesh.client(brokers[2]!.url);
  const seen: Array<unknown> = [];
  const changed = new Condition();
  const lobby = await watcher.subscribe('$rooms', () => (seen.push(((lobby.state ?? {}) as Record<string, unknown>)[room]), changed.notify()), { state: true });
  const listed = (): Record<string, unknown> => (lobby.state ?? {}) as Record<string, unknown>;
  const player = await mesh.client(brokers[1]!.url);
  const sub = await player.subscribe(room, () => {}, { presence: {} });
  await changed.wait(() => room in listed(), 15_000, 'the room listed');
  await sub.unsubscribe();
  await changed.wait(() => !(room in listed()), 15_000, 'the room expired');
  // Expired. Broker 0 (the room's announcer) restarts, and leads the room's stream again.
  seen.length = 0;
  const afterKill = since();
  await mesh.kill(0);
  await brokers[1]!.waitForEvent((e) => afterKill(e) && e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2, 20_000, 'b0 out of the view');
  const b0 = await mesh.restart(0);
  await b0.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).length === 3, 20_000, 'b0 back in the view');
  // A marker room b0 announces too: once it is listed, b0 has announced what it had to.
  await player.subscribe(marker, () => {}, { presence: {} });
  await changed.wait(() => marker in listed(), 15_000, 'the marker room listed');
  expect(seen.filter((v) => v !== undefined)).toEqual([]);
});
