// The game-room page: a lobby, then a room. Connection, lobby and UI here; the room in room.js.
// The Chorus client comes from the broker that served this page (its /client.js, an ES module).
import { createClient } from '/client.js';
import { arena, colorFor, roomsInLobby, topics, validRoomName } from './rules.js';
import { Room } from './room.js';
import { drawArena, renderChat, renderPlayers, renderRooms, renderScores } from './view.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

/** Brokers to try, in order: `?brokers=ws://a/ws,ws://b/ws`, else the broker that served this page. */
const brokerUrls = (params.get('brokers') ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
if (brokerUrls.length === 0) brokerUrls.push(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);

/**
 * One client id per tab, kept across reloads: it is the player's identity in presence, positions
 * and scores, so a reload comes back as the same player with the same score.
 */
function tabClientId() {
  const key = 'chorus-game-client-id';
  let id = sessionStorage.getItem(key);
  if (id === null || !/^[A-Za-z0-9_:.-]{1,64}$/.test(id)) {
    id = `p-${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
    sessionStorage.setItem(key, id);
  }
  return id;
}

const clientId = tabClientId();
const color = colorFor(clientId);
const keys = new Set();
let client;
let lobbySub;
let room;

const badge = $('badge');
/** Connection events in order, with the badge as each left it, for the test hook. */
const connectionEvents = [];
const noteEvent = (event, detail) => connectionEvents.push({ event, detail, badge: badge.hidden ? '' : badge.textContent, at: Date.now() });
function showBadge(text) {
  badge.textContent = text;
  badge.hidden = text === '';
}

function setStatus(text) {
  $('status').textContent = text;
}

/**
 * Connects, and keeps trying while no broker answers at all (the page may load before its
 * broker is back). Once connected, reconnecting is the client's job: it walks the URL list by
 * itself and resumes every subscription, and this page only shows a badge meanwhile.
 */
async function connect(attempt = 0) {
  client = createClient(brokerUrls, { clientId, reconnect: { delayMinMs: 100, delayMaxMs: 2000 } });
  client.on('connected', ({ broker }) => {
    noteEvent('connected', broker);
    setStatus(`connected to ${broker}`);
  });
  client.on('disconnected', ({ code }) => {
    showBadge('reconnecting…');
    setStatus(`connection lost (${code}), reconnecting`);
    noteEvent('disconnected', code);
  });
  client.on('reconnected', ({ broker }) => {
    showBadge('');
    setStatus(`connected to ${broker}`);
    noteEvent('reconnected', broker);
  });
  // Refusals and the like: worth a line in the console, never a broken page.
  client.on('error', (err) => console.warn('chorus:', err.message));
  // The lobby is the broker's `$rooms` (started with --rooms 'game.*'). Subscribed before the
  // welcome, it goes out in the hello's own frame.
  const lobby = client.subscribe(topics.lobby, () => showRooms(), { state: true });
  lobby.catch(() => undefined); // reported below, unless the connection failed first
  try {
    await client.ready;
  } catch (err) {
    const delayMs = Math.min(10_000, 1000 * 2 ** attempt);
    setStatus(`no broker reachable (${err.message}); trying again in ${Math.round(delayMs / 1000)} s`);
    showBadge('offline');
    setTimeout(() => void connect(attempt + 1), delayMs);
    return;
  }
  showBadge('');
  lobby.then((sub) => {
    lobbySub = sub;
    showRooms();
  }, (err) => setStatus(`cannot read the lobby: ${err.message}`));
  client.on('closed', ({ code, reason }) => {
    // Only a close the client will not retry (a revoked token, say) ends up here.
    showBadge('offline');
    setStatus(`disconnected for good: ${code} ${reason}`);
  });
  $('join').disabled = false;
}

function showRooms() {
  renderRooms($('rooms'), roomsInLobby(lobbySub?.state), (name) => {
    $('room-name').value = name;
    void enter(name);
  });
}

async function enter(name) {
  const player = $('player-name').value.trim().slice(0, 24) || 'player';
  if (!validRoomName(name)) {
    setStatus('A room name is 1–24 characters of a–z, 0–9, _ and -.');
    return;
  }
  if (room !== undefined || client === undefined) return;
  localStorage.setItem('chorus-game-name', player);
  const joining = new Room(client, name, { name: player, color }, keys, scheduleRender);
  room = joining;
  $('lobby').hidden = true;
  $('game').hidden = false;
  $('room-title').textContent = name;
  $('arena').focus();
  try {
    await joining.join();
  } catch (err) {
    setStatus(`could not join ${name}: ${err.message}`);
    if (room === joining) await leave();
    else await joining.leave();
  }
  scheduleRender();
}

async function leave() {
  const leaving = room;
  room = undefined;
  keys.clear();
  $('game').hidden = true;
  $('lobby').hidden = false;
  await leaving?.leave();
}

let renderQueued = false;
/** Lists change in bursts (a replay, a presence set after a reconnect): redraw them once per burst. */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    if (room === undefined) return;
    renderPlayers($('players'), room.players());
    renderScores($('scores'), room.state?.scores, colorFor);
    renderChat($('chat-log'), room.lines);
  }, 0);
}

function frame() {
  if (room !== undefined) {
    const ctx = $('arena').getContext('2d');
    drawArena(ctx, { coin: room.state?.coin, players: room.players().filter((p) => p.x !== undefined) });
  }
  requestAnimationFrame(frame);
}

const keyDirections = {
  ArrowUp: 'up', KeyW: 'up', ArrowDown: 'down', KeyS: 'down',
  ArrowLeft: 'left', KeyA: 'left', ArrowRight: 'right', KeyD: 'right',
};

function typing(event) {
  const tag = event.target?.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA';
}

window.addEventListener('keydown', (event) => {
  const direction = keyDirections[event.code];
  if (direction === undefined || room === undefined || typing(event)) return;
  event.preventDefault(); // arrows would scroll the page
  keys.add(direction);
});
window.addEventListener('keyup', (event) => {
  const direction = keyDirections[event.code];
  if (direction !== undefined) keys.delete(direction);
});
// Keys released while the window was not looking would stay held.
window.addEventListener('blur', () => keys.clear());

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void enter($('room-name').value.trim().toLowerCase());
});
$('leave').addEventListener('click', () => void leave());
$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  if (text === '' || room === undefined) return;
  input.value = '';
  room.say(text).catch((err) => room?.system(`not sent: ${err.message}`));
  $('arena').focus();
});
// Leave presence at once rather than when the broker notices the socket is gone; a page the
// browser brings back from its cache has a closed client, so it starts afresh.
window.addEventListener('pagehide', () => void client?.close());
window.addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});

const arenaCanvas = $('arena');
arenaCanvas.width = arena.width;
arenaCanvas.height = arena.height;
$('player-name').value = params.get('name') ?? localStorage.getItem('chorus-game-name') ?? '';
$('room-name').value = params.get('room') ?? '';
$('brokers').textContent = brokerUrls.join(', ');

/** What the page shows, as data, for tests and for poking at from the console. */
window.game = {
  state: () => room?.state ?? null,
  players: () => room?.playersNow() ?? [],
  chat: () => room?.lines.map((l) => (l.system ? { system: true, text: l.text } : { name: l.name, text: l.text, client: l.client })) ?? [],
  me: () => (room === undefined ? { client: clientId, name: $('player-name').value } : { client: room.myClient, name: room.me.name, x: room.me.x, y: room.me.y }),
  room: () => room?.name ?? null,
  /** The lobby as the page lists it: room name → { players } (null until `$rooms` is loaded). */
  rooms: () => (lobbySub === undefined ? null : { ...roomsInLobby(lobbySub.state) }),
  connected: () => client?.connected === true,
  reconnecting: () => !badge.hidden,
  connectionEvents: () => connectionEvents.map((e) => ({ ...e })),
  /** Where each of the room's subscriptions stands (a test prints it when a wait times out). */
  subscriptions: () => (room === undefined ? null : Object.fromEntries(
    [room.roomSub, room.posSub, room.chatSub].filter(Boolean).map((s) => [s.topic, { seq: s.seq, epoch: s.epoch, pending: s.pending, active: s.active }]),
  )),
};

requestAnimationFrame(frame);
void connect();
