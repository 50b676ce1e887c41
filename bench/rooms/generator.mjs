#!/usr/bin/env node
/**
 * The load generator of `--rooms`: one process (pinned to core 1 by run.mjs) holding every player,
 * the lobby client and the slow readers, driven over its IPC channel:
 *
 *   { cmd: 'setup', urls, rooms, perRoom, hz, slowPerRoom, slowFillMib, openBatch }  -> 'ready'
 *   { cmd: 'lobby', timeoutS }       -> 'lobby'   (waits until $rooms lists every room full)
 *   { cmd: 'go' }                                  (players start publishing)
 *   { cmd: 'start' } / { cmd: 'end' } -> 'result' (one measured window)
 *   { cmd: 'slow-connect' }          -> 'slow-ready'
 *   { cmd: 'slow-pause' }            -> 'slow-paused' (paused, filled when asked)
 *   { cmd: 'stop' }                  -> 'stopped'  (publishing stopped, slow readers resumed,
 *                                                   players drained, the slow readers' figures)
 *   { cmd: 'close' }                 -> 'closed';  { cmd: 'exit' }
 *
 * Any failure is answered { type: 'error', message }. It exits when its parent goes away.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { round } from '../lib/common.mjs';
import { Players, Tally, lobbyReport, openLobby } from './players.mjs';
import { SlowReaders } from './slow.mjs';

const reply = (m) => process.send?.(m);
const tally = new Tally();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let cfg;
let players;
let lobby;
let slow;

const handlers = {
  async setup(m) {
    cfg = m;
    const t0 = performance.now();
    const deadline = t0 + 600_000;
    players = new Players({ urls: m.urls, rooms: m.rooms, perRoom: m.perRoom, hz: m.hz, openBatch: m.openBatch, tally });
    const { failedCount, failed } = await players.connect(deadline);
    const connectS = round((performance.now() - t0) / 1000, 2);
    lobby = await openLobby(m.urls[0], tally);
    return { type: 'ready', connectS, players: players.players.length, failedCount, failed };
  },

  async lobby(m) {
    const t0 = performance.now();
    const want = cfg.rooms;
    let report = lobbyReport(lobby, cfg.rooms, cfg.perRoom);
    while (report.full < want && performance.now() - t0 < m.timeoutS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      report = lobbyReport(lobby, cfg.rooms, cfg.perRoom);
    }
    return { type: 'lobby', ok: report.full === want && report.others === 0, waitedS: round((performance.now() - t0) / 1000, 2), ...report };
  },

  /** $rooms now, without waiting (after each phase: has any player's presence been lost?). */
  lobbyNow() {
    return { type: 'lobby-now', ...lobbyReport(lobby, cfg.rooms, cfg.perRoom) };
  },

  go() {
    players.go();
  },

  start() {
    players.start();
    loopDelay.reset();
    loopDelay.enable();
  },

  end() {
    const result = players.end();
    loopDelay.disable();
    return {
      type: 'result',
      ...result,
      generatorLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 1),
      playersConnected: players.connectedCount(),
      disconnects: { ...tally.disconnects },
      errors: { ...tally.errors },
      firstErrors: [...tally.firstErrors],
      memoryMiB: round(process.memoryUsage().rss / 2 ** 20, 1),
    };
  },

  async 'slow-connect'() {
    const t0 = performance.now();
    slow = new SlowReaders({ urls: cfg.urls, rooms: cfg.rooms, perRoom: cfg.slowPerRoom, openBatch: cfg.openBatch, fillMib: cfg.slowFillMib, tally });
    const { failedCount, failed } = await slow.connect(t0 + 300_000);
    return { type: 'slow-ready', connectS: round((performance.now() - t0) / 1000, 2), readers: slow.readers.length, failedCount, failed };
  },

  async 'slow-pause'() {
    slow.pause();
    players.countRooms();
    return { type: 'slow-paused', ...(await slow.fill(performance.now() + 300_000)) };
  },

  /** Publishing stops, the slow readers read again, the players drain, then the slow readers' figures. */
  async stop() {
    players.stopPublishing();
    slow?.resume();
    const drain = await players.drain();
    if (slow === undefined) return { type: 'stopped', drain };
    const result = await slow.settle(players.roomLastSeqs(), players.roomSent);
    return { type: 'stopped', drain, slow: { ...result, disconnects: { ...tally.disconnects }, errors: { ...tally.errors } } };
  },

  async close() {
    await Promise.allSettled([players?.close(), slow?.close(), lobby?.client.close()]);
    return { type: 'closed' };
  },

  exit() {
    process.exit(0);
  },
};

process.on('message', async (m) => {
  try {
    const handler = handlers[m.cmd === 'lobby-now' ? 'lobbyNow' : m.cmd];
    if (handler === undefined) throw new Error(`unknown command ${m.cmd}`);
    const answer = await handler(m);
    if (answer !== undefined) reply(answer);
  } catch (err) {
    reply({ type: 'error', message: err?.stack ?? String(err) });
  }
});
process.on('disconnect', () => process.exit(1));
process.on('SIGTERM', () => process.exit(0));
process.on('uncaughtException', (err) => {
  reply({ type: 'error', message: `uncaught: ${err?.stack ?? err}` });
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  reply({ type: 'error', message: `unhandled rejection: ${err?.stack ?? err}` });
  process.exit(1);
});
