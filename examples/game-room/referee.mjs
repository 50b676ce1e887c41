#!/usr/bin/env node
// The game-room referee: the authoritative side of the game, as an ordinary Chorus client.
//
//   node examples/game-room/referee.mjs ws://127.0.0.1:8080/ws [more broker URLs]
//
// It watches every position (`game.*.pos`, a live wildcard), keeps each room's state
// (`game.<room>`: the coin and the scores), and applies the one rule: a player who reaches the coin
// scores, and the coin moves. Players cannot write room state when the broker runs with
// authentication (README.md: the privileged client). The lobby is not its job: brokers started
// with --rooms 'game.*' keep `$rooms` (players per room) and expire rooms left empty; the referee
// reads it to find rooms, and lets an expired room's copy go.
//
// Environment: CHORUS_TOKEN (a JWT, with --auth jwt), REFEREE_FIRST_COIN=x,y (the first coin of a
// new room; tests put it near the spawn point).
import { connect } from '../../dist/client/index.js'; // in an application: from '@chorus/client'
import { randomCoin, roomsInLobby, speed, tickMs, topics, validPosition, validRoomName, withinReach } from './public/rules.js';

const usage = 'usage: node examples/game-room/referee.mjs ws://host:port/ws [more broker URLs]';
const urls = process.argv.slice(2);
if (urls.length === 0) urls.push('ws://127.0.0.1:8080/ws');
if (urls.some((u) => !/^wss?:\/\//.test(u))) {
  console.error(usage);
  process.exit(2);
}
const firstCoin = parseCoin(process.env.REFEREE_FIRST_COIN);

function parseCoin(text) {
  if (text === undefined || text === '') return undefined;
  const [x, y] = text.split(',').map(Number);
  const coin = { x, y };
  if (!validPosition(coin)) {
    console.error(`REFEREE_FIRST_COIN must be x,y inside the arena, not ${text}`);
    process.exit(2);
  }
  return coin;
}

/** One JSON line per event, as the broker logs: easy to read, easy for a test to wait for. */
function log(event, fields = {}) {
  console.log(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }));
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The rooms being refereed: name → { sub, epoch, coin, scores, players, last }. `coin` and
 * `scores` are the referee's own copy of the room state: it is the only writer (but for the
 * broker's reset of an expired room), so its copy is the truth, and a second position on the coin
 * before the first patch comes back cannot score twice. A room has no coin until it has a player.
 */
const rooms = new Map();
let client;
let lobbySub;
let stopping = false;

function publishPatch(topic, patch) {
  client.publish(topic, patch, { kind: 'patch' }).catch((err) => log('publish-failed', { topic, error: err.message }));
}

/**
 * Starts refereeing a room: its state (to keep) and its presence, hidden (to know who is in it;
 * a hidden subscriber is not a player, so the broker does not count the referee in the lobby).
 */
function watchRoom(name) {
  const room = { name, sub: undefined, epoch: undefined, coin: undefined, scores: {}, players: -1, last: new Map() };
  rooms.set(name, room);
  client.subscribe(topics.room(name), (message) => roomMessage(room, message), {
    state: true,
    presence: { hidden: true },
    onPresence: () => countPlayers(room),
    onResync: (e) => resynced(room, e),
  }).then(
    (sub) => {
      if (rooms.get(name) !== room) return void sub.unsubscribe();
      room.sub = sub;
      room.epoch = sub.epoch;
      const state = sub.state ?? {};
      room.scores = state.scores !== null && typeof state.scores === 'object' ? state.scores : {};
      room.coin = validPosition(state.coin) ? state.coin : undefined;
      log('room-watched', { room: name, coin: room.coin ?? null });
      countPlayers(room);
    },
    (err) => {
      // Kept a while without a subscription, so the room's positions (20 a second) do not each ask again.
      setTimeout(() => {
        if (rooms.get(name) === room) rooms.delete(name);
      }, 10_000);
      log('room-refused', { room: name, error: err.message });
    },
  );
  return room;
}

/** The first coin of a room with players, or of one that starts afresh: the whole state, written. */
function placeFirstCoin(room) {
  room.coin = firstCoin ?? randomCoin();
  publishPatch(topics.room(room.name), { coin: room.coin, scores: room.scores });
  log('coin-placed', { room: room.name, coin: room.coin });
}

/**
 * The broker's reset of an expired room (empty for --room-empty-ms): a `state` message of null,
 * with no client, the only one the referee did not write. Scores and coin start afresh.
 */
function roomMessage(room, message) {
  if (message.kind === 'state' && message.data === null && message.client === undefined) roomExpired(room, 'reset');
}

/**
 * The room expired: `$rooms` dropped it, or its state was reset (whichever the referee hears
 * first). Its copy goes. A player already back (they may come as it expires) gets a fresh room at
 * once; otherwise the referee lets go of the room until a player comes (positions, `$rooms`).
 */
function roomExpired(room, how) {
  if (rooms.get(room.name) !== room) return;
  room.scores = {};
  room.coin = undefined;
  room.last.clear();
  if (room.sub !== undefined && presentClients(room).size > 0) {
    log('room-reset', { room: room.name, how });
    placeFirstCoin(room);
    return;
  }
  rooms.delete(room.name);
  void room.sub?.unsubscribe();
  log('room-expired', { room: room.name, how });
}

/**
 * A resume that could not replay comes with a fresh snapshot. A null state in the same epoch is
 * the broker's reset of an expired room, missed in between. Anything else (history gone, or every
 * copy of the topic lost: a new epoch) leaves the referee's copy the truth, written back whole.
 */
function resynced(room, event) {
  const epoch = room.sub?.epoch;
  const sameEpoch = epoch === room.epoch;
  room.epoch = epoch;
  if (!event.recovered && room.sub?.state === null && sameEpoch) return void roomExpired(room, 'resync');
  if (!event.recovered && room.coin !== undefined) {
    client.publish(topics.room(room.name), { coin: room.coin, scores: room.scores }, { kind: 'state' })
      .catch((err) => log('publish-failed', { topic: topics.room(room.name), error: err.message }));
  }
  countPlayers(room);
}

/** Players are counted by client id: a reconnecting player can hold two sessions for a moment. */
function presentClients(room) {
  const clients = new Map();
  for (const entry of Object.values(room.sub?.presence ?? {})) clients.set(entry.client, entry.info);
  return clients;
}

/** After every join and leave: forgets who left, and gives a room its first coin with its first player. */
function countPlayers(room) {
  if (room.sub === undefined || rooms.get(room.name) !== room) return;
  const present = presentClients(room);
  for (const client of room.last.keys()) if (!present.has(client)) room.last.delete(client);
  if (room.coin === undefined && present.size > 0) placeFirstCoin(room);
  if (present.size === room.players) return;
  room.players = present.size;
  log('players', { room: room.name, players: room.players });
}

/**
 * The lobby `$rooms` (kept by the brokers): a room listed is watched, so it has its coin before
 * its first position; a room it drops (merge patch `{ "game.<room>": null }`) has expired.
 */
function lobbyMessage(message) {
  if (message.kind === 'patch' && message.data !== null && typeof message.data === 'object') {
    for (const [topic, info] of Object.entries(message.data)) {
      const name = topic.startsWith('game.') ? topic.slice('game.'.length) : undefined;
      const room = name === undefined ? undefined : rooms.get(name);
      if (info === null && room !== undefined) roomExpired(room, 'lobby');
    }
  }
  watchListed(message.kind === 'patch' ? message.data : undefined);
}

/** Watches every room the lobby lists (in `listed`, or in its whole state) that is not watched yet. */
function watchListed(listed) {
  for (const name of Object.keys(roomsInLobby(listed ?? lobbySub?.state))) if (!rooms.has(name)) watchRoom(name);
}

/**
 * A position is trusted only as far as the player could have moved since the last one (broker
 * times, with slack for jitter): a client publishing a position on the coin out of nowhere does
 * not score. The first position of a player only sets where it is.
 */
function plausible(previous, position, ts) {
  if (previous === undefined) return false;
  const elapsedMs = Math.max(ts - previous.ts, 2 * tickMs);
  return Math.hypot(position.x - previous.x, position.y - previous.y) <= (speed * elapsedMs * 1.5) / 1000 + 10;
}

function positionReceived(message) {
  const name = topics.roomOf(message.topic);
  if (!validRoomName(name)) return;
  const room = rooms.get(name) ?? watchRoom(name);
  const player = message.client;
  const position = message.data;
  if (room.sub === undefined || player === undefined || !validPosition(position)) return;
  const previous = room.last.get(player);
  room.last.set(player, { x: position.x, y: position.y, ts: message.ts });
  if (room.coin === undefined || !plausible(previous, position, message.ts) || !withinReach(position, room.coin)) return;
  const info = presentClients(room).get(player);
  if (info === undefined) return; // not in the room (a position from outside it)
  const entry = { name: String(info?.name ?? '?').slice(0, 24), score: (room.scores[player]?.score ?? 0) + 1 };
  room.scores = { ...room.scores, [player]: entry };
  room.coin = randomCoin();
  publishPatch(topics.room(name), { coin: room.coin, scores: { [player]: entry } });
  log('score', { room: name, client: player, name: entry.name, score: entry.score });
}

async function connectWithRetry() {
  const options = { clientId: 'referee', reconnect: { delayMinMs: 100, delayMaxMs: 2000 } };
  if (process.env.CHORUS_TOKEN) options.token = process.env.CHORUS_TOKEN;
  for (let attempt = 0; !stopping; attempt++) {
    try {
      return await connect(urls, options);
    } catch (err) {
      // connect() gives up after one round over the URLs; a referee started before its brokers waits for them.
      log('connect-failed', { error: err.message });
      await delay(Math.min(10_000, 500 * 2 ** attempt));
    }
  }
  return undefined;
}

async function main() {
  client = await connectWithRetry();
  if (client === undefined) return;
  client.on('disconnected', ({ code }) => log('disconnected', { code }));
  client.on('reconnected', ({ broker }) => log('reconnected', { broker }));
  client.on('error', (err) => log('error', { error: err.message }));
  client.on('closed', ({ code, reason }) => {
    if (stopping) return;
    log('closed', { code, reason });
    process.exit(1);
  });
  // The rooms the brokers list now (players there before this referee) and from now on.
  lobbySub = await client.subscribe(topics.lobby, lobbyMessage, { state: true, onResync: () => watchListed() });
  watchListed();
  await client.subscribe('game.*.pos', positionReceived);
  log('ready', { urls });
}

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log('stopping', { signal });
  if (client !== undefined) {
    // Let a last score reach the broker, within reason.
    await Promise.race([client.flush().catch(() => undefined), delay(2000)]);
    await client.close();
  }
  process.exit(0);
}

process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
main().catch((err) => {
  log('failed', { error: err.message });
  process.exit(1);
});
