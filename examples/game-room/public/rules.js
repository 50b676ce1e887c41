// The rules both sides agree on: the page moves players with them, the referee judges with them.
// A plain ES module with no imports, so the browser loads it from the broker and Node from disk.

/** The arena, in game units (the canvas is scaled to it). */
export const arena = { width: 800, height: 500 };

/** Player speed, units per second. */
export const speed = 200;

/** A player is a square of this side; the coin a disc of this radius. */
export const playerSize = 20;
export const coinRadius = 10;

/** Centre-to-centre distance at which a player takes the coin. */
export const reach = playerSize / 2 + coinRadius + 4;

/** Positions go out at most this often (20 Hz), and at least every `heartbeatMs` while idle. */
export const tickMs = 50;
export const heartbeatMs = 1000;

/** Room names become one topic token (`game.<room>`), so they keep to a safe subset of it. */
export const roomNamePattern = /^[a-z0-9_-]{1,24}$/;

export function validRoomName(name) {
  return roomNamePattern.test(name);
}

export const topics = {
  /**
   * The lobby: the broker's system topic of rooms, kept by brokers started with `--rooms 'game.*'`
   * (docs/game-rooms.md). Its state: `{ "game.<room>": { players: n } }`.
   */
  lobby: '$rooms',
  room: (room) => `game.${room}`,
  positions: (room) => `game.${room}.pos`,
  chat: (room) => `game.${room}.chat`,
  /** The room a topic of the form game.<room>[.<part>] belongs to. */
  roomOf: (topic) => topic.split('.')[1],
};

/**
 * The rooms of this game in the lobby's state, by room name: `game.<room>` keys only (a broker
 * may keep other games' rooms in `$rooms` too), and only names a player could have typed.
 */
export function roomsInLobby(lobbyState) {
  const rooms = Object.create(null); // a room may be called __proto__
  if (lobbyState === null || typeof lobbyState !== 'object') return rooms;
  for (const [topic, info] of Object.entries(lobbyState)) {
    const [prefix, name, ...rest] = topic.split('.');
    if (prefix === 'game' && rest.length === 0 && validRoomName(name ?? '') && info !== null && typeof info === 'object') rooms[name] = info;
  }
  return rooms;
}

export function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

/** Where a new player appears: near the middle, so a room fills up where the action is. */
export function spawnPoint(random = Math.random) {
  return { x: arena.width / 2 + (random() - 0.5) * 120, y: arena.height / 2 + (random() - 0.5) * 120 };
}

/** A coin somewhere a player can reach, away from the walls. */
export function randomCoin(random = Math.random) {
  const margin = 40;
  return {
    x: Math.round(margin + random() * (arena.width - 2 * margin)),
    y: Math.round(margin + random() * (arena.height - 2 * margin)),
  };
}

export function withinReach(position, coin) {
  return Math.hypot(position.x - coin.x, position.y - coin.y) <= reach;
}

/** A position the data says is one: finite numbers inside the arena. */
export function validPosition(p) {
  return p !== null && typeof p === 'object' && Number.isFinite(p.x) && Number.isFinite(p.y) &&
    p.x >= 0 && p.x <= arena.width && p.y >= 0 && p.y <= arena.height;
}

/** A stable colour for a client id, so every page paints a player the same. */
export function colorFor(clientId) {
  let hash = 0;
  for (let i = 0; i < clientId.length; i++) hash = (hash * 31 + clientId.charCodeAt(i)) >>> 0;
  return `hsl(${hash % 360}, 70%, 55%)`;
}
