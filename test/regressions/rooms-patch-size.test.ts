// Regression: every room is listed even when many appear within one tick (the lobby's patches
// are split to fit --payload-bytes-max), and a lobby patch that is refused (the lobby at
// --state-bytes-max) is published again later, so a room is not left unlisted for good.
import { afterEach, expect, it } from 'vitest';
import { connect, type Client } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition } from '../helpers/wait.js';

let broker: BrokerProcess | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await broker?.stop();
});

it('lists every room although many appear within one tick', async () => {
  // 4 KiB payloads: a game's own bound; the same happens at the default 64 KiB with ~300 long-named
  // rooms in 250 ms, or after a view change (reannounce puts every room into one patch).
  broker = await startBrokerProcess(['--rooms', 'game.*', '--payload-bytes-max', '4096']);
  const player = await connect(broker.url);
  const watcher = await connect(broker.url);
  clients.push(player, watcher);
  const rooms = Array.from({ length: 40 }, (_, i) => `game.${String(i).padStart(150, 'r')}`);
  await Promise.all(rooms.map((r) => player.subscribe(r, () => {}, { presence: {} })));
  const changed = new Condition();
  const lobby = await watcher.subscribe('$rooms', () => changed.notify(), { state: true });
  await changed.wait(() => Object.keys((lobby.state ?? {}) as object).length === 40, 15_000, 'all 40 rooms listed');
  expect(broker.latest((e) => e['event'] === 'rooms-lobby-refused')).toBeUndefined();
});

it('lists a room that came while the lobby was full once its space frees', { timeout: 60_000 }, async () => {
  broker = await startBrokerProcess(['--rooms', 'game.*', '--state-bytes-max', '2048', '--room-empty-ms', '500']);
  const attacker = await connect(broker.url);
  const player = await connect(broker.url);
  const watcher = await connect(broker.url);
  clients.push(attacker, player, watcher);
  const changed = new Condition();
  const lobby = await watcher.subscribe('$rooms', () => changed.notify(), { state: true });
  const listed = (): Record<string, { players: number }> => (lobby.state ?? {}) as Record<string, { players: number }>;
  // A real room, and at once 20 long-named rooms: more than the lobby's 2 KiB state takes, so the
  // patch that carries them (and, most likely, the real room) is refused.
  await player.subscribe('game.real', () => {}, { presence: {} });
  for (let n = 0; n < 20; n++) await attacker.subscribe(`game.x${String(n).padStart(120, 'x')}`, () => {}, { presence: {} });
  // The attacker leaves; its rooms expire, the lobby has room again, and the real room is listed.
  await attacker.close();
  await changed.wait(() => listed()['game.real']?.players === 1 && Object.keys(listed()).every((k) => !k.startsWith('game.x')), 30_000, 'the real room listed, no attacker room left');
});
