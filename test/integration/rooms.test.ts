// Proves rooms on real broker processes (--rooms): the lobby `$rooms` lists each room with its
// players as they join and leave, a room empty for --room-empty-ms leaves the lobby and its state
// is reset, clients may read the lobby but not publish to it; and on a three-broker mesh, with
// players on two brokers and the lobby read on the third, each room is counted once and right, and
// still after the broker that announced it is killed; a room left empty expires even when the
// broker that announced it dies before its time is up.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, ErrorCode, type Client } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness } from '../helpers/mesh.js';
import { Condition } from '../helpers/wait.js';

type Lobby = Record<string, { players: number }>;

/** Subscribes to the lobby and returns a way to wait for its state to satisfy a check. */
async function lobbyOf(client: Client): Promise<{ state(): Lobby; until(check: (l: Lobby) => boolean, what: string): Promise<void> }> {
  const changed = new Condition();
  const sub = await client.subscribe('$rooms', () => changed.notify(), { state: true });
  const state = (): Lobby => (sub.state ?? {}) as Lobby;
  return { state, until: (check, what) => changed.wait(() => check(state()), 30_000, what).catch((err: Error) => Promise.reject(new Error(`${err.message}; the lobby: ${JSON.stringify(state())}`))) };
}

describe('rooms, one broker', () => {
  let broker: BrokerProcess | undefined;
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await broker?.stop();
  });

  it('lists rooms with their players, expires an empty one and resets its state, and refuses publishes to the lobby', async () => {
    broker = await startBrokerProcess(['--rooms', 'room.*', '--room-empty-ms', '600']);
    const open = async (): Promise<Client> => {
      const c = await connect(broker!.url);
      clients.push(c);
      return c;
    };
    const lobby = await lobbyOf(await open());
    const [ann, bob] = [await open(), await open()];
    const annSub = await ann.subscribe('room.a', () => {}, { presence: { info: { name: 'ann' } }, state: true });
    await ann.publish('room.a', { score: 3 }, { kind: 'state' });
    await lobby.until((l) => l['room.a']?.players === 1, 'room.a with 1 player');
    const bobSub = await bob.subscribe('room.a', () => {}, { presence: { info: { name: 'bob' } } });
    // A subscriber with hidden presence (a referee, a spectator) is not a player.
    await bob.subscribe('room.b', () => {}, { presence: { hidden: true } });
    await lobby.until((l) => l['room.a']?.players === 2, 'room.a with 2 players');
    expect(lobby.state()['room.b']).toBeUndefined();
    await expect(bob.publish('$rooms', { 'room.x': { players: 99 } }, { kind: 'patch' })).rejects.toMatchObject({ code: ErrorCode.ReservedTopic });

    await bobSub.unsubscribe();
    await lobby.until((l) => l['room.a']?.players === 1, 'room.a back to 1');
    await annSub.unsubscribe();
    await lobby.until((l) => l['room.a']?.players === 0, 'room.a empty');
    await lobby.until((l) => !('room.a' in l), 'room.a expired');
    // Its state was reset: the next player starts a fresh room.
    const fresh = await ann.subscribe('room.a', () => {}, { state: true, presence: {} });
    expect(fresh.state).toBeNull();
    await lobby.until((l) => l['room.a']?.players === 1, 'room.a listed again');
  });
});

const mesh = new MeshHarness();

describe('rooms, three brokers', () => {
  afterEach((context) => mesh.finish(context.task.name));

  it('counts each room once from players on different brokers, and goes on after its announcer is killed', { timeout: 120_000 }, async () => {
    const brokers = await mesh.start(3, {}, ['--rooms', 'room.*', '--room-empty-ms', '60000']);
    const lobby = await lobbyOf(await mesh.client(brokers[2]!.url));
    const rooms = ['room.1', 'room.2', 'room.3', 'room.4'];
    const players: Client[] = [];
    for (const [i, room] of rooms.entries()) {
      for (const b of [0, 1]) {
        // Broker 0's players do not come back: their presence goes with it.
        const c = await mesh.client(brokers[b]!.url, { reconnect: { enabled: false } });
        c.on('error', () => {});
        await c.subscribe(room, () => {}, { presence: { info: { i } } });
        players.push(c);
      }
    }
    await lobby.until((l) => rooms.every((r) => l[r]?.players === 2), 'every room with 2 players');
    // Broker 0 goes: its players' presence leaves with it, and each room is announced by whoever leads it now.
    await mesh.kill(0);
    await lobby.until((l) => rooms.every((r) => l[r]?.players === 1), 'every room with the 1 player left');
    expect(Object.keys(lobby.state()).sort()).toEqual(rooms);
  });

  it('expires a room left empty even when its announcer dies first', { timeout: 120_000 }, async () => {
    const brokers = await mesh.start(3, {}, ['--rooms', 'room.*', '--room-empty-ms', '4000']);
    const { lwgOf, ownersOf } = await import('../../lightweight-groups/index.js');
    const cluster = (await (await fetch(`${brokers[0]!.httpUrl}/api/v1/cluster`)).json()) as { lwgs: unknown[] };
    // A room announced by b0 (its stream's sequencer) and kept by b1, which announces it once b0 is gone.
    let room = '';
    for (let n = 0; n < 10_000 && room === ''; n++) {
      const owners = ownersOf(lwgOf(`room.${n}`, cluster.lwgs.length), ['b0', 'b1', 'b2'], 2);
      if (owners[0] === 'b0' && owners[1] === 'b1') room = `room.${n}`;
    }
    expect(room).not.toBe('');
    const lobby = await lobbyOf(await mesh.client(brokers[1]!.url));
    const player = await mesh.client(brokers[1]!.url);
    const sub = await player.subscribe(room, () => {}, { presence: {} });
    await lobby.until((l) => l[room]?.players === 1, 'the room listed');
    await sub.unsubscribe();
    await lobby.until((l) => l[room]?.players === 0, 'the room empty');
    await mesh.kill(0);
    await lobby.until((l) => !(room in l), 'the room expired by its new announcer');
  });
});
