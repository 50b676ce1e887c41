/**
 * The players of `--rooms`, as the load generator holds them: each one a connection made with the
 * official client (dist/client/index.js), subscribed to its room's `game.<n>.pos` and to `game.<n>`
 * with presence, spread round-robin over the brokers; the paced publisher; the delivery counters
 * (seq checks, conflation skips, publish → deliver latency from the `t` in each position); the lobby
 * client that reads `$rooms`. Everything runs in one thread, so send and receive times share one
 * clock (performance.now()).
 */
import { createHistogram, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { CLIENT_URL, round } from '../lib/common.mjs';

const { createClient } = await import(CLIENT_URL.href);

/** A player whose socket holds more than this unsent is not given another position until it drains. */
export const SEND_BACKLOG_MAX = 64 * 1024;
/** The pacer's timer, ms: each tick publishes for the players whose slot of the period has come. */
const TICK_MS = 5;

export const roomTopic = (room) => `game.${room}`;
export const posTopic = (room) => `game.${room}.pos`;

/**
 * A `ws` class that hands each instance to `holder.ws` (the socket under a client: to read its
 * buffers, or pause its TCP socket), and with `countBytes` adds up the WebSocket message bytes it
 * receives in holder.bytesIn.
 */
export function trackedWebSocket(holder, countBytes = false) {
  return class extends WebSocket {
    constructor(url) {
      super(url);
      holder.ws = this;
      if (countBytes) {
        holder.bytesIn = 0;
        this.on('message', (data) => (holder.bytesIn += data.length));
      }
    }
  };
}

/** Counters of one measured window (reset by start()). */
function freshWindow() {
  return { t0: performance.now(), sent: 0, refused: 0, heldBack: 0, notConnected: 0, missed: 0, delivered: 0, skipJumps: 0, skipped: 0, unmarkedGaps: 0, latency: createHistogram(), elu: performance.eventLoopUtilization() };
}

/** The broker refused a publish because its mesh backlog is full (ErrorCode.TooManyRequests): load, not a fault. */
export const REFUSED_CODE = 304;

/**
 * What every client of the generator reports: disconnects and errors counted by kind, and
 * publishes refused by a broker whose mesh is not keeping up (`refused`, and `onRefused`).
 */
export class Tally {
  constructor() {
    this.disconnects = {};
    this.errors = {};
    this.firstErrors = [];
    this.refused = 0;
    this.onRefused = () => {};
  }

  watch(client, who) {
    client.on('disconnected', ({ code }) => (this.disconnects[`${who} ${code}`] = (this.disconnects[`${who} ${code}`] ?? 0) + 1));
    client.on('error', (err) => {
      if (err?.code === REFUSED_CODE) {
        this.refused++;
        return this.onRefused();
      }
      const key = `${who}: ${String(err?.message ?? err).replace(/\d+/g, 'N').slice(0, 120)}`;
      this.errors[key] = (this.errors[key] ?? 0) + 1;
      if (this.firstErrors.length < 5) this.firstErrors.push(`${who}: ${err?.message ?? err}`);
    });
  }
}

/**
 * Connects `count` clients, `batch` at a time; make(i) starts one and resolves when it is
 * subscribed (closing it if not). Those that fail are counted by reason, not retried: under
 * overload a broker may not welcome a new connection in time, and that is a finding.
 */
export async function openInBatches(count, batch, make, deadlineMs) {
  const made = [];
  const failed = {};
  for (let i = 0; i < count; i += batch) {
    if (performance.now() > deadlineMs) throw new Error(`connecting took too long: ${made.length} of ${count} made`);
    const results = await Promise.allSettled(Array.from({ length: Math.min(batch, count - i) }, (_, j) => make(i + j)));
    for (const r of results) {
      if (r.status === 'fulfilled') made.push(r.value);
      else {
        const reason = String(r.reason?.message ?? r.reason).replace(/127\.0\.0\.1:\d+/g, 'a broker').slice(0, 200);
        failed[reason] = (failed[reason] ?? 0) + 1;
      }
    }
  }
  if (made.length === 0) throw new Error(`all ${count} connections failed: ${JSON.stringify(failed)}`);
  return { made, failed, failedCount: count - made.length };
}

/** Resolves to `value` once `promises` settle; on a failure closes `client` and rejects. */
export async function subscribedOrClosed(client, promises, value) {
  try {
    await Promise.all(promises);
    return value;
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

export class Players {
  constructor({ urls, rooms, perRoom, hz, openBatch, tally }) {
    Object.assign(this, { urls, rooms, perRoom, hz, openBatch, tally });
    this.players = [];
    this.publishing = false;
    this.measuring = false;
    this.window = freshWindow();
    /** Position publishes issued per room since countRooms() (phase 2: what the slow readers' rooms got). */
    this.roomSent = null;
    tally.onRefused = () => this.window.refused++;
  }

  /** Opens every player's connection; resolves once each is subscribed to both of its room's topics. */
  async connect(deadlineMs) {
    const opened = await openInBatches(this.rooms * this.perRoom, this.openBatch, (i) => this.openPlayer(i), deadlineMs);
    this.players = opened.made;
    return { failedCount: opened.failedCount, failed: opened.failed };
  }

  async openPlayer(i) {
    const room = Math.floor(i / this.perRoom);
    const p = { i, room, topic: posTopic(room), ws: undefined, last: null, received: 0, x: Math.random() * 1000, y: Math.random() * 1000 };
    // Reconnect off: a disconnect is counted, never hidden by a resume.
    const client = createClient(this.urls[i % this.urls.length], { clientId: `player-${room}-${i % this.perRoom}`, reconnect: { enabled: false }, WebSocket: trackedWebSocket(p) });
    p.client = client;
    this.tally.watch(client, 'player');
    // Both subscribes go out in the hello's frame (createClient pipelines them).
    // Until its first position, a player's last seq is the one its subscription started after.
    const pos = client.subscribe(p.topic, (m) => this.onPosition(p, m)).then((sub) => (p.last ??= sub.seq));
    const presence = client.subscribe(roomTopic(room), () => {}, { presence: { info: { name: `p${i % this.perRoom}` } } });
    return subscribedOrClosed(client, [client.ready, pos, presence], p);
  }

  onPosition(p, m) {
    const now = performance.now();
    const w = this.window;
    if (p.last !== null && m.seq !== p.last + 1 + (m.skipped ?? 0)) w.unmarkedGaps++;
    if (m.skipped > 0) {
      w.skipJumps++;
      w.skipped += m.skipped;
    }
    p.last = m.seq;
    p.received++;
    if (!this.measuring) return;
    w.delivered++;
    const t = m.data?.t;
    if (typeof t === 'number') w.latency.record(Math.max(1, Math.round((now - t) * 1000)));
  }

  /** Starts the paced publisher: every player once per period, the players spread over TICK_MS slots. */
  go() {
    if (this.publishing) return;
    this.publishing = true;
    const periodMs = 1000 / this.hz;
    const slots = Math.max(1, Math.round(periodMs / TICK_MS));
    const slotMs = periodMs / slots;
    const bySlot = Array.from({ length: slots }, () => []);
    for (const p of this.players) bySlot[Math.floor((p.i * slots) / this.players.length)].push(p);
    const t0 = performance.now();
    let done = -1; // the last slot index (since t0) handled
    this.timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / slotMs);
      // Late by more than a whole period: those slots are not caught up (a generator that cannot keep the pace publishes less, and says so).
      for (; done < due - slots; done++) this.window.missed += bySlot[(done + 1) % slots].length;
      for (; done < due; done++) for (const p of bySlot[(done + 1) % slots]) this.publishOne(p);
    }, TICK_MS);
  }

  publishOne(p) {
    const w = this.window;
    if (!p.client.connected) return void w.notConnected++;
    if (p.ws.bufferedAmount > SEND_BACKLOG_MAX) return void w.heldBack++;
    p.x += Math.random() - 0.5;
    p.y += Math.random() - 0.5;
    p.client.publish(p.topic, { x: p.x, y: p.y, t: performance.now() }, { ack: false });
    w.sent++;
    if (this.roomSent !== null) this.roomSent[p.room]++;
  }

  stopPublishing() {
    this.publishing = false;
    clearInterval(this.timer);
  }

  /** From now on, count the publishes issued per room. */
  countRooms() {
    this.roomSent = new Uint32Array(this.rooms);
  }

  start() {
    this.window = freshWindow();
    this.measuring = true;
  }

  /** The figures of the window since start(). */
  end() {
    const w = this.window;
    this.measuring = false;
    const elapsedS = (performance.now() - w.t0) / 1000;
    const h = w.latency;
    const ms = (q) => (h.count === 0 ? null : round(h.percentile(q) / 1000, 2));
    return {
      elapsedS: round(elapsedS, 3),
      targetPublishes: Math.round(this.players.length * this.hz * elapsedS),
      sent: w.sent,
      refused: w.refused,
      heldBack: w.heldBack,
      notConnected: w.notConnected,
      missed: w.missed,
      delivered: w.delivered,
      latencyMs: { p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: h.count === 0 ? null : round(h.max / 1000, 2), samples: h.count },
      skipJumps: w.skipJumps,
      skipped: w.skipped,
      unmarkedGaps: w.unmarkedGaps,
      generatorLoopBusyPct: round(performance.eventLoopUtilization(w.elu).utilization * 100, 1),
    };
  }

  /** The highest seq any player of each room has seen on its positions topic. */
  roomLastSeqs() {
    const last = new Array(this.rooms).fill(0);
    for (const p of this.players) if (p.last !== null && p.last > last[p.room]) last[p.room] = p.last;
    return last;
  }

  /**
   * After publishing stopped: waits until every player has its room's last seq and nothing has
   * arrived for 0.5 s (the last positions may still be on their way to a whole room) — or until
   * nothing has arrived for 2 s with players still behind (what they miss is lost: 'quiet'), or
   * maxMs have passed while positions still arrive (a backlog: 'deadline').
   */
  async drain(maxMs = 30_000) {
    const t0 = performance.now();
    const received0 = this.players.reduce((a, p) => a + p.received, 0);
    let lastCount = -1;
    let quietSince = performance.now();
    let ended = 'drained';
    let behind = 0;
    for (;;) {
      const last = this.roomLastSeqs();
      behind = this.players.filter((p) => p.client.connected && (p.last ?? 0) < last[p.room]).length;
      const count = this.players.reduce((a, p) => a + p.received, 0);
      if (count !== lastCount) (lastCount = count), (quietSince = performance.now());
      if (behind === 0 && performance.now() - quietSince > 500) break;
      if (performance.now() - quietSince > 2000) ended = 'quiet';
      else if (performance.now() - t0 > maxMs) ended = 'deadline';
      if (ended !== 'drained') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const receivedInDrain = this.players.reduce((a, p) => a + p.received, 0) - received0;
    return { drained: ended === 'drained', ended, playersBehind: behind, receivedInDrain, drainS: round((performance.now() - t0) / 1000, 2) };
  }

  connectedCount() {
    return this.players.filter((p) => p.client.connected).length;
  }

  async close() {
    this.stopPublishing();
    await Promise.allSettled(this.players.map((p) => p.client.close()));
  }
}

/** The lobby client: `$rooms` with its state, on one broker. */
export async function openLobby(url, tally) {
  const client = createClient(url, { clientId: 'lobby', reconnect: { enabled: false } });
  tally.watch(client, 'lobby');
  const sub = await client.subscribe('$rooms', () => {}, { state: true });
  await client.ready;
  return { client, sub };
}

/** What `$rooms` says of the bench's rooms: how many are listed, how many with all their players, and a few that are not. */
export function lobbyReport(lobby, rooms, perRoom) {
  const state = lobby.sub.state ?? {};
  let listed = 0;
  let full = 0;
  const wrong = [];
  for (let r = 0; r < rooms; r++) {
    const entry = state[roomTopic(r)];
    if (entry !== undefined && entry !== null) listed++;
    if (entry?.players === perRoom) full++;
    else if (wrong.length < 5) wrong.push({ room: roomTopic(r), players: entry?.players ?? null });
  }
  return { listed, full, others: Object.keys(state).length - listed, wrong };
}
