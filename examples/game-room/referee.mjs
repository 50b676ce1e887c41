#!/usr/bin/env node
// The game-room referee: the authoritative side of the game, as an ordinary Chorus client.
//
//   node examples/game-room/referee.mjs ws://127.0.0.1:8080/ws [more broker URLs]
//
// It watches every position (`game.*.pos`, a live wildcard), keeps each room's state
// (`game.<room>`: the coin and the scores) and the lobby (`game.lobby`: players per room), and
// applies the one rule: a player who reaches the coin scores, and the coin moves. Players cannot
// write those topics when the broker runs with authentication (README.md: the privileged client).
//
// Environment: CHORUS_TOKEN (a JWT, with --auth jwt), REFEREE_FIRST_COIN=x,y (the first coin of a
// new room; tests put it near the spawn point), REFEREE_EMPTY_ROOM_MS (default 30000).
import { connect } from '../../dist/client/index.js'; // in an application: from 'chorus/client'
import { randomCoin, speed, tickMs, topics, validPosition, validRoomName, withinReach } from './public/rules.js';

const usage = 'usage: node examples/game-room/referee.mjs ws://host:port/ws [more broker URLs]';
const urls = process.argv.slice(2);
if (urls.length === 0) urls.push('ws://127.0.0.1:8080/ws');
if (urls.some((u) => !/^wss?:\/\//.test(u))) {
  console.error(usage);
  process.exit(2);
}
const emptyRoomMs = Number(process.env.REFEREE_EMPTY_ROOM_MS ?? 30_000);
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
 * The rooms being refereed: name → { sub, coin, scores, players, last, emptyTimer }. `coin` and
 * `scores` are the referee's own copy of the room state: it is the only writer, so its copy is
 * the truth, and a second position on the coin before the first patch comes back cannot score
 * twice.
 */
const rooms = new Map();
let client;
let stopping = false;

function publishPatch(topic, patch) {
  client.publish(topic, patch, { kind: 'patch' }).catch((err) => log('publish-failed', { topic, error: err.message }));
}

function publishLobby(roomsPatch) {
  publishPatch(topics.lobby, { rooms: roomsPatch });
}

/** Starts refereeing a room: its state (to keep) and its presence, hidden (to count players). */
function watchRoom(name) {
  const room = { name, sub: undefined, coin: undefined, scores: {}, players: -1, last: new Map(), emptyTimer: undefined };
  rooms.set(name, room);
  client.subscribe(topics.room(name), () => {}, {
    state: true,
    presence: { hidden: true },
    onPresence: () => countPlayers(room),
    onResync: (e) => resynced(room, e),
  }).then(
    (sub) => {
      if (rooms.get(name) !== room) return void sub.unsubscribe();
      room.sub = sub;
      const state = sub.state ?? {};
      room.scores = state.scores !== null && typeof state.scores === 'object' ? state.scores : {};
      room.coin = state.coin;
      if (!validPosition(room.coin)) {
        room.coin = firstCoin ?? randomCoin();
        publishPatch(topics.room(name), { coin: room.coin, scores: room.scores });
      }
      log('room-watched', { room: name, coin: room.coin });
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

/**
 * A resume that could not replay (history gone, or every copy of the topic lost) comes with a
 * fresh snapshot: whatever it says, the referee's copy is the truth, so it is written back whole.
 */
function resynced(room, event) {
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

function countPlayers(room) {
  if (room.sub === undefined || rooms.get(room.name) !== room) return;
  const present = presentClients(room);
  for (const client of room.last.keys()) if (!present.has(client)) room.last.delete(client);
  if (present.size === room.players) return;
  room.players = present.size;
  publishLobby({ [room.name]: { players: room.players } });
  clearTimeout(room.emptyTimer);
  room.emptyTimer = room.players === 0 ? setTimeout(() => dropRoom(room), emptyRoomMs) : undefined;
  log('players', { room: room.name, players: room.players });
}

/** Empty for the whole grace: off the lobby (its state stays in its topic, scores and all). */
function dropRoom(room) {
  if (rooms.get(room.name) !== room || room.players !== 0) return;
  rooms.delete(room.name);
  void room.sub.unsubscribe();
  publishLobby({ [room.name]: null }); // merge patch: null removes the key
  log('room-dropped', { room: room.name });
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
  if (!plausible(previous, position, message.ts) || !withinReach(position, room.coin)) return;
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
  const lobby = await client.subscribe(topics.lobby, () => {}, { state: true });
  // Rooms listed by an earlier run are counted again, or dropped once empty for the grace.
  for (const name of Object.keys(lobby.state?.rooms ?? {})) {
    if (validRoomName(name)) watchRoom(name);
    else publishLobby({ [name]: null });
  }
  await client.subscribe('game.*.pos', positionReceived);
  log('ready', { urls });
}

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log('stopping', { signal });
  for (const room of rooms.values()) clearTimeout(room.emptyTimer);
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
