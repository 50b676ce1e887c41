// Regression: the lobby `$rooms` is never dropped to make room for other topics (--topics-max):
// system topics are pinned, so a room whose players stay put stays listed.
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

it('keeps a room with players in the lobby while other topics come and go', async () => {
  broker = await startBrokerProcess(['--rooms', 'game.*', '--topics-max', '20']);
  const player = await connect(broker.url);
  const other = await connect(broker.url);
  clients.push(player, other);
  await player.subscribe('game.a', () => {}, { presence: {} });
  // Announced (seen by a watcher that then leaves: nobody here subscribes to the lobby any more).
  const changed = new Condition();
  const first = await other.subscribe('$rooms', () => changed.notify(), { state: true });
  await changed.wait(() => (first.state as Record<string, unknown> | null)?.['game.a'] !== undefined, 10_000, 'game.a announced');
  await first.unsubscribe();
  // Ordinary traffic on other topics: 40 topics created, idle ones evicted past 20.
  for (let i = 0; i < 40; i++) await other.publish(`chat.${i}`, 'hi');
  const watcher = await connect(broker.url);
  clients.push(watcher);
  const lobby = await watcher.subscribe('$rooms', () => {}, { state: true });
  expect(lobby.state).toEqual({ 'game.a': { players: 1 } });
});
