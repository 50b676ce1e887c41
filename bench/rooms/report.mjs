/**
 * The record of a `--rooms` run and how it is read: the header (machine, versions, command), the
 * verdict of each measured window (which CPU limits its figures), the integrity checks, the
 * markdown, and the two files bench/results/rooms-<date>[-N].json and .md (never overwritten).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** % of one core from which a process counts as saturated. */
const SATURATED = 90;

const git = (...args) => {
  try {
    return execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};
const readSys = (path) => {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return null;
  }
};

export function describeRun(opts, argv, pinned) {
  const started = new Date();
  const dirty = git('status', '--porcelain', '--', 'broker', 'client', 'lightweight-groups');
  let distBuiltAt = null;
  try {
    distBuiltAt = new Date(Math.max(...['dist/broker/main/cli.js', 'dist/client/index.js'].map((f) => statSync(join(REPO, f)).mtimeMs))).toISOString();
  } catch {
    // no dist
  }
  return {
    bench: 'chorus-rooms',
    date: started.toISOString().slice(0, 10),
    startedAt: started.toISOString(),
    command: ['npm run bench -- --rooms', ...argv].join(' '),
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, os: `${os.type()} ${os.release()}`, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    node: process.version,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: dirty ? `uncommitted changes under broker/, client/ or lightweight-groups/ (${dirty.split('\n').length} files); dist/ as last built` : null,
    distBuiltAt,
    pinned: pinned ? { brokers: 'core 0 (all of them)', generator: 'core 1' } : null,
    // The kernel's TCP buffer sizes (min default max): a paused reader's socket absorbs this much before the broker holds anything.
    tcpRmem: readSys('/proc/sys/net/ipv4/tcp_rmem'),
    tcpWmem: readSys('/proc/sys/net/ipv4/tcp_wmem'),
    options: opts,
  };
}

/** Which CPU limits the figures of one window. */
export function verdict(w, opts) {
  const limits = [];
  const pinned = opts.pin;
  if (pinned && (w.brokersCpuPct ?? 0) >= SATURATED) limits.push(`brokers: core 0, which all ${w.brokers.length} share, is saturated (${w.brokersCpuPct}% of one core summed)`);
  for (const b of w.brokers) if (!pinned && (b.cpuPct ?? 0) >= SATURATED) limits.push(`broker ${b.name}: its core is saturated (${b.cpuPct}%)`);
  const gen = w.generator;
  const published = `it published ${Math.round((w.publishedOfTarget ?? 0) * 100)}% of the target, and its own queueing is in the latency`;
  if ((w.generatorCpuPct ?? 0) >= SATURATED) {
    limits.push(`load generator: its core is saturated (${w.generatorCpuPct}% CPU, event loop ${gen.generatorLoopBusyPct}% busy); ${published}`);
  } else if (gen.generatorLoopBusyPct >= SATURATED) {
    limits.push(`load generator: its event loop was ${gen.generatorLoopBusyPct}% busy but got only ${w.generatorCpuPct}% of a core (others ran on it); ${published}`);
  } else if ((w.publishedOfTarget ?? 1) < 0.95) {
    limits.push(`published ${Math.round(w.publishedOfTarget * 100)}% of the target (held back on backed-up sockets ${gen.heldBack}, late slots ${gen.missed}, not connected ${gen.notConnected})`);
  }
  if (!pinned && (w.machineCpuPct ?? 0) >= 0.9 * os.cpus().length * 100) limits.push(`the machine: ${w.machineCpuPct}% busy of ${os.cpus().length * 100}%`);
  if (w.refusedPerSec > 0) limits.push(`the brokers refused ${w.refusedPerSec.toLocaleString('en-US')} publishes/s (their mesh backlog, 10,000 multicasts each, was full)`);
  if ((w.otherProcessesCpuPct ?? 0) >= 25) limits.push(`disturbed: other processes used ${w.otherProcessesCpuPct}% of a core`);
  return limits.length === 0 ? 'neither side saturated: the figures are the offered load' : limits.join('; ');
}

/** What should have been perfect and was not. */
export function integrityProblems(r) {
  const o = r.options;
  const out = [];
  const rooms = o.roomsCount;
  if (r.setup?.failedCount > 0) out.push(`${r.setup.failedCount} of ${rooms * o.players} players could not connect: ${JSON.stringify(r.setup.failed)}`);
  if (r.slowSetup?.failedCount > 0) out.push(`${r.slowSetup.failedCount} of ${rooms * o.slowPerRoom} slow readers could not connect (during phase 1's load): ${JSON.stringify(r.slowSetup.failed)}`);
  if (!r.lobby?.ok) out.push(`$rooms did not list ${rooms} rooms with ${o.players} players within ${o.lobbyTimeout} s (full ${r.lobby?.full}, listed ${r.lobby?.listed}, others ${r.lobby?.others})`);
  for (const [name, w] of [['phase 1', r.load], ['phase 2', r.slowPhase]]) {
    if (w === undefined) continue;
    const g = w.generator;
    if (w.lobbyAfter !== undefined && w.lobbyAfter.full !== rooms) out.push(`${name}: $rooms lists ${w.lobbyAfter.full} of ${rooms} rooms with ${o.players} players afterwards (e.g. ${JSON.stringify(w.lobbyAfter.wrong)})`);
    if (g.unmarkedGaps > 0) out.push(`${name}: ${g.unmarkedGaps} unmarked seq gaps at players`);
    if (g.playersConnected < r.setup.players) out.push(`${name}: ${r.setup.players - g.playersConnected} players disconnected (${JSON.stringify(g.disconnects)})`);
    if (Object.keys(g.errors).length > 0) out.push(`${name}: client errors ${JSON.stringify(g.errors)}`);
    const cut = w.brokers.reduce((a, b) => a + (b.slowConsumerCloses ?? 0), 0);
    if (cut > 0) out.push(`${name}: ${cut} slow-consumer closes`);
  }
  if (r.stop?.ended === 'quiet') out.push(`${r.stop.playersBehind} players never got their room's last position (nothing arrived for 2 s)`);
  if (r.stop?.ended === 'deadline') out.push(`positions still arriving ${r.stop.drainS} s after publishing stopped (a backlog; ${r.stop.playersBehind} players behind their room's last seq then)`);
  const s = r.slow;
  if (s !== undefined) {
    if (s.unmarkedGaps > 0) out.push(`slow readers: ${s.unmarkedGaps} jumps without skipped`);
    if (s.ended === 'deadline') {
      out.push(`slow readers: ${s.readersShort} still short of their room's last position ${s.drainS} s after resuming (${s.unaccounted} seqs still on their way: a backlog)`);
    } else {
      if (s.unaccounted > 0) out.push(`slow readers: ${s.unaccounted} seqs neither received nor marked skipped`);
      if (s.readersShort > 0) out.push(`slow readers: ${s.readersShort} never reached their room's last position (nothing arrived for 3 s)`);
    }
    if (s.readersDisconnected > 0) out.push(`slow readers: ${s.readersDisconnected} disconnected (all clients' disconnects by code, end of run: ${JSON.stringify(s.disconnects)})`);
  }
  for (const b of r.brokerEvents ?? []) if (b.viewChanges > 0) out.push(`broker ${b.name}: ${b.viewChanges} view changes during the run`);
  return out;
}

const n = (x) => (x === null || x === undefined ? 'n/a' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));
const pct = (x) => (x === null || x === undefined ? 'n/a' : `${Math.round(x * 100)}%`);

export function renderMarkdown(r) {
  const o = r.options;
  const players = o.roomsCount * o.players;
  const L = [];
  L.push(`# Chorus game rooms — ${r.date}`, '');
  L.push(`\`${r.command}\` — commit ${r.commit}${r.dirty ? ` (${r.dirty})` : ''}, Node ${r.node}, ${r.machine.cpu} × ${r.machine.cores} cores, ${r.machine.memGiB} GiB, ${r.machine.os}.`);
  if (r.distChanged) L.push(`**Warning**: ${r.distChanged}.`);
  L.push(r.pinned ? 'All brokers pinned to core 0, the load generator to core 1 (`taskset`).' : 'Not pinned to cores.');
  L.push('');
  L.push(`${n(o.roomsCount)} rooms × ${o.players} players = ${n(players)} player connections over ${o.brokers} broker${o.brokers > 1 ? 's (a mesh)' : ''}, each player publishing \`{x, y, t}\` with \`ack: false\` at ${o.hz} Hz ` +
    `(target ${n(Math.round(players * o.hz))} publishes/s, ${n(Math.round(players * o.hz * o.players))} deliveries/s); brokers with \`--rooms 'game.*'\`${o.conflate ? " and `--conflate 'game.*.pos'`" : ', **without** `--conflate`'}. ` +
    `${o.warmup} s warm-up, ${o.seconds} s measured per phase. Run ${r.ok ? 'completed' : `**FAILED**: ${r.error.split('\n')[0]}`} in ${r.durationS} s.`);
  L.push('');
  if (r.lobby) L.push(`**$rooms**: ${n(r.lobby.full)} of ${n(o.roomsCount)} rooms listed with ${o.players} players, ${r.lobby.waitedS} s after the last player subscribed (players connected in ${r.setup?.connectS} s).`, '');
  const windows = [['1: players', r.load], ['2: + slow readers (paused)', r.slowPhase]].filter(([, w]) => w !== undefined);
  if (windows.length > 0) {
    L.push('| phase | published/s (of target) | refused/s | delivered/s (published × players) | p50 / p99 / max ms | broker CPU % (' + r.load.brokers.map((b) => b.name).join(' / ') + ' = sum) | generator CPU % | broker RSS MiB | limited by |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const [name, w] of windows) {
      const l = w.latencyMs;
      L.push(`| ${name} | ${n(w.publishedPerSec)} (${pct(w.publishedOfTarget)}) | ${n(w.refusedPerSec)} | ${n(w.deliveredPerSec)} (${n(w.expectedDeliveredPerSec)}) | ${n(l.p50)} / ${n(l.p99)} / ${n(l.max)} | ${w.brokers.map((b) => n(b.cpuPct)).join(' / ')} = ${n(w.brokersCpuPct)} | ${n(w.generatorCpuPct)} | ${w.brokers.map((b) => n(b.rssMiB)).join(' / ')} | ${w.verdict} |`);
    }
    L.push('');
    for (const [name, w] of windows) {
      const g = w.generator;
      L.push(`- phase ${name}: generator loop ${g.generatorLoopBusyPct}% busy (delay p99 ${g.generatorLoopDelayP99Ms} ms); publishes held back on a backed-up socket ${n(g.heldBack)}, late slots skipped ${n(g.missed)}; ` +
        `positions skipped by conflation at players ${n(g.skipped)} in ${n(g.skipJumps)} marked jumps, unmarked gaps ${n(g.unmarkedGaps)}; ` +
        `brokers in/out ${w.brokers.map((b) => `${n(b.messagesInPerSec)}/${n(b.messagesOutPerSec)}`).join(', ')} msgs/s, links ${w.brokers.map((b) => n(b.linkBytesPerSec === null ? null : Math.round(b.linkBytesPerSec / 1e5) / 10)).join(', ')} MB/s (in+out); ` +
        `conflated ${n(w.brokers.reduce((a, b) => a + (b.conflated ?? 0), 0))}; machine ${n(w.machineCpuPct)}% of ${r.machine.cores * 100}% (interrupts ${n(w.irqCpuPct)}%, other processes ${n(w.otherProcessesCpuPct)}%).`);
    }
    L.push('');
  }
  const s = r.slow;
  if (s !== undefined) {
    const fill = r.slowSetup?.fill;
    const failed = r.slowSetup?.failedCount ? ` of ${n(s.readers + r.slowSetup.failedCount)}: ${n(r.slowSetup.failedCount)} could not connect` : '';
    L.push(`**Slow readers** (${n(s.readers)}${failed}; ${o.slowPerRoom} per room, paused ${s.pausedSeconds} s, resumed once publishing stopped${fill?.fillBytesPerReader ? `; each first sent ${n(Math.round(fill.fillBytesPerReader / 2 ** 20))} MiB on a topic that is not conflated, in ${fill.fillS} s` : ''}):`, '');
    const conflated = (r.metricsAtEnd ?? []).reduce((a, m) => a + (m.chorus_messages_conflated_total ?? 0), 0);
    L.push('| conflation | positions published to their rooms | received after resuming | position bytes received | marked jumps (seqs skipped) | unmarked gaps | unaccounted seqs | brokers\' conflated total | drained in |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    L.push(`| ${o.conflate ? 'on' : 'off'} | ${n(s.publishedToTheirRooms)} | ${n(s.positionsReceived)} (${pct(s.receivedOfPublished)}) | ${n(s.positionBytesAfterResume)} | ${n(s.jumps)} (${n(s.skippedMarked)}) | ${n(s.unmarkedGaps)} | ${n(s.unaccounted)} | ${n(conflated)} | ${s.drainS} s |`);
    L.push('');
  }
  L.push(r.problems?.length ? `**Integrity problems**:\n${r.problems.map((p) => `- ${p}`).join('\n')}` : r.ok ? 'Integrity: no seq gap without `skipped`, no disconnect, no client error, no slow-consumer close, every player drained, `$rooms` complete after each phase, no view change.' : '');
  L.push('');
  if (r.brokerStops) L.push(`Brokers stopped by ${r.brokerStops.map((b) => `${b.name} ${b.by}`).join(', ')}; RSS max ${Object.entries(r.rssMaxMiB ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')} MiB; events logged: ${(r.brokerEvents ?? []).map((b) => `${b.name} ${JSON.stringify(b.counts)}`).join(', ')}.`, '');
  return L.join('\n');
}

/** bench/results/rooms-<date>.{json,md}, or with -2, -3 … when either is taken. */
export function writeResults(outDir, record, markdown) {
  const dir = outDir ?? join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i < 1000; i++) {
    const base = join(dir, `rooms-${record.date}${i === 1 ? '' : `-${i}`}`);
    if (existsSync(`${base}.json`) || existsSync(`${base}.md`)) continue;
    writeFileSync(`${base}.json`, JSON.stringify(record, null, 2) + '\n', { flag: 'wx' });
    writeFileSync(`${base}.md`, markdown + '\n', { flag: 'wx' });
    return { json: `${base}.json`, md: `${base}.md` };
  }
  throw new Error(`no free name for rooms-${record.date} in ${dir}`);
}
