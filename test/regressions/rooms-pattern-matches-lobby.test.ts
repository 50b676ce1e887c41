// Regression: a --rooms pattern never makes a system topic a room: with `--rooms '>'` a client
// watching `$rooms` with visible presence, then leaving, cannot make the lobby "expire" and wipe it.
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

it('a lobby watcher with presence cannot wipe the lobby', async () => {
  broker = await startBrokerProcess(['--rooms', '*', '--room-empty-ms', '300']);
  const player = await connect(broker.url);
  const watcher = await connect(broker.url);
  const visitor = await connect(broker.url);
  clients.push(player, watcher, visitor);
  const changed = new Condition();
  const lobby = await watcher.subscribe('$rooms', () => changed.notify(), { state: true });
  const state = (): Record<string, unknown> | null => lobby.state as Record<string, unknown> | null;
  await player.subscribe('blue', () => {}, { presence: {} });
  await changed.wait(() => state()?.['blue'] !== undefined, 10_000, 'blue listed');
  const visit = await visitor.subscribe('$rooms', () => {}, { presence: {} });
  await visit.unsubscribe();
  // A marker room, left empty after the visitor left: once it has expired, so would have the lobby.
  const green = await visitor.subscribe('green', () => {}, { presence: {} });
  await changed.wait(() => state()?.['green'] !== undefined, 10_000, 'green listed');
  await green.unsubscribe();
  await changed.wait(() => state() === null || !('green' in state()!), 10_000, 'green expired');
  expect(state()).toEqual({ blue: { players: 1 } });
});
