/**
 * `npm run bench -- --rooms` (bench/fanout.mjs hands over here): multiplayer game rooms over a
 * mesh of brokers on this machine.
 *
 *   1. start the brokers pinned to core 0 (mesh.mjs), wait for one view;
 *   2. start the load generator pinned to core 1 (generator.mjs): every player connects and
 *      subscribes, and a lobby client waits until `$rooms` lists every room with all its players;
 *   3. phase 1: the players publish at --hz; after the warm-up, one measured window: CPU of each
 *      broker and of the generator (utime + stime from /proc/PID/stat), RSS, /metrics, and what the
 *      generator counted (published, delivered, latency, skips, gaps);
 *   4. phase 2 (--slow-per-room > 0): slow readers join, are paused (and filled with
 *      --slow-fill-mib) for a second window; then publishing stops, they are resumed, and once
 *      the players have drained they count what reached them;
 *   5. everything is stopped by PID, and bench/results/rooms-<date>.json and .md are written
 *      (-2, -3 … when the name is taken: nothing is overwritten).
 *
 * Every wait is bounded; a watchdog, a broker or generator that exits, a broker over --rss-max-mib,
 * an error or a signal ends the run: every child is killed by PID and what was measured until
 * then is written with the error. Exit status: 0 ok, 1 failed, 2 bad arguments, 3 an integrity
 * check failed (lobby, gaps, disconnects, drain).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BROKER_CLI_URL, CLIENT_URL, round } from '../lib/common.mjs';
import { clockTicksPerSecond, monoMs, sleep } from '../lib/system.mjs';
import { brokerEvents, startBrokers } from './mesh.mjs';
import { UsageError, parseOptions, usage } from './options.mjs';
import { Procs, machineTicks, pinningAvailable, readProcTicks, readRssMiB, scrape, waitQuiet } from './procs.mjs';
import { describeRun, integrityProblems, renderMarkdown, verdict, writeResults } from './report.mjs';

const GENERATOR = fileURLToPath(new URL('./generator.mjs', import.meta.url));
const TICKS = clockTicksPerSecond();
const METRICS = ['chorus_messages_in_total', 'chorus_messages_out_total', 'chorus_messages_conflated_total', 'chorus_slow_consumers_total', 'chorus_closes_total', 'chorus_cluster_link_bytes_total', 'chorus_connections', 'chorus_core_retransmissions_total', 'chorus_core_suspicions_total', 'chorus_core_views_installed_total', 'chorus_core_unstable_messages', 'chorus_core_unstable_bytes'];

export async function main(argv) {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`rooms: ${err.message}\n\n${usage()}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  if (!existsSync(fileURLToPath(BROKER_CLI_URL)) || !existsSync(fileURLToPath(CLIENT_URL))) {
    process.stderr.write('rooms: dist/ is missing; run `npm run build` first\n');
    process.exit(1);
  }
  const log = (line) => process.stderr.write(`rooms: ${line}\n`);
  const pinned = pinningAvailable(opts.pin);
  let abort; // rejects the run's race: a child died, the watchdog fired, a broker grew too large
  const aborted = new Promise((_, reject) => (abort = reject));
  aborted.catch(() => {});
  const procs = new Procs(pinned, (child, code, signal) => abort(new Error(`${child.name} (pid ${child.pid}) exited during the run (${code ?? signal}): ${child.stderrTail.trim().slice(-1500)}`)));
  process.on('exit', () => procs.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      log(`interrupted by ${signal}; killing every child by PID`);
      procs.killAllNow();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => (log(`uncaught: ${err?.stack ?? err}`), procs.killAllNow(), process.exit(1)));
  process.on('unhandledRejection', (err) => (log(`unhandled rejection: ${err?.stack ?? err}`), procs.killAllNow(), process.exit(1)));

  const record = describeRun(opts, argv, pinned);
  if (!pinned) log('not pinning to cores (taskset missing, fewer than 2 cores, or --no-pin)');
  if (opts.quietWait > 0) record.beforeRun = await waitQuiet(opts.quietWait, TICKS);

  const slowPhase = opts.slowPerRoom > 0;
  const watchdogS = 240 + opts.lobbyTimeout + opts.warmup + 2 * opts.seconds + (slowPhase ? 240 : 0) + (opts.slowFillMib > 0 ? 300 : 0);
  const watchdog = setTimeout(() => abort(new Error(`watchdog: the run took longer than ${watchdogS} s`)), watchdogS * 1000);
  const t0 = monoMs();
  let cluster = null;
  let gen = null;
  let rssTimer;
  try {
    await Promise.race([aborted, body()]);
    record.ok = true;
  } catch (err) {
    record.ok = false;
    record.error = err?.message ?? String(err);
    log(`FAILED: ${record.error}`);
  } finally {
    clearTimeout(watchdog);
    clearInterval(rssTimer);
    if (gen !== null) {
      gen.send({ cmd: 'close' });
      await Promise.race([gen.waitFor('closed', 15_000).catch(() => {}), aborted.catch(() => {})]);
      gen.child.stopping = true;
      gen.send({ cmd: 'exit' });
      await procs.stop(gen.child, 3000);
    }
    if (cluster !== null) {
      record.brokerEvents = brokerEvents(cluster.brokers);
      // A broker draining thousands of clients takes a while; one under --cpu-prof must exit by itself to write its profile.
      const how = await Promise.all(cluster.brokers.map((b) => procs.stop(b.child, opts.cpuProfDir === null ? 10_000 : 60_000)));
      record.brokerStops = cluster.brokers.map((b, i) => ({ name: b.name, pid: b.pid, by: how[i], stderrTail: b.child.stderrTail.trim().slice(-1500) || undefined }));
    }
    procs.killAllNow();
  }
  record.durationS = round((monoMs() - t0) / 1000, 1);
  if (describeRun(opts, argv, pinned).distBuiltAt !== record.distBuiltAt) record.distChanged = 'dist/ was rebuilt during the run: the brokers may have run one build and the clients another';

  const problems = record.ok ? integrityProblems(record) : [];
  record.problems = problems;
  const markdown = renderMarkdown(record);
  const { json, md } = writeResults(opts.outDir, record, markdown);
  process.stdout.write(`\n${markdown}\n`);
  process.stdout.write(JSON.stringify({ json, md, ok: record.ok, problems }) + '\n');
  process.exit(!record.ok ? 1 : problems.length > 0 ? 3 : 0);

  async function body() {
    log(`starting ${opts.brokers} broker(s)${pinned ? ' on core 0' : ''} …`);
    cluster = await startBrokers(procs, opts);
    const brokers = cluster.brokers;
    record.brokers = brokers.map((b) => ({ name: b.name, pid: b.pid, url: b.url, args: b.args.map((a) => (a.startsWith('bench-') ? 'bench-<secret>' : a)) }));
    record.mesh = { formMs: cluster.formMs, view: brokers[0].view ?? null };
    // The machine is shared: a broker that grows without bound stops the run before it hurts anyone.
    record.rssMaxMiB = Object.fromEntries(brokers.map((b) => [b.name, readRssMiB(b.pid)]));
    rssTimer = setInterval(() => {
      for (const b of brokers) {
        const rss = readRssMiB(b.pid);
        if (rss !== null && rss > (record.rssMaxMiB[b.name] ?? 0)) record.rssMaxMiB[b.name] = rss;
        if (rss !== null && rss > opts.rssMaxMib) abort(new Error(`broker ${b.name} (pid ${b.pid}) reached ${rss} MiB RSS (over --rss-max-mib ${opts.rssMaxMib})`));
      }
    }, 1000);

    gen = startGenerator(procs, abort);
    record.generatorPid = gen.child.pid;
    const urls = brokers.map((b) => b.url);
    log(`connecting ${opts.roomsCount * opts.players} players (${opts.roomsCount} rooms × ${opts.players})${pinned ? ', generator on core 1' : ''} …`);
    gen.send({ cmd: 'setup', urls, rooms: opts.roomsCount, perRoom: opts.players, hz: opts.hz, slowPerRoom: opts.slowPerRoom, slowFillMib: opts.slowFillMib, openBatch: opts.openBatch });
    record.setup = strip(await gen.waitFor('ready', 620_000));
    log(`players connected in ${record.setup.connectS} s; waiting for $rooms …`);
    gen.send({ cmd: 'lobby', timeoutS: opts.lobbyTimeout });
    record.lobby = strip(await gen.waitFor('lobby', (opts.lobbyTimeout + 30) * 1000));
    log(`$rooms: ${record.lobby.full} of ${opts.roomsCount} rooms with ${opts.players} players (waited ${record.lobby.waitedS} s)`);
    record.rssAtStartMiB = rssOf(brokers);

    gen.send({ cmd: 'go' });
    await sleep(opts.warmup * 1000);
    log(`phase 1: measuring ${opts.seconds} s …`);
    record.load = await measureWindow(brokers, gen, opts);
    gen.send({ cmd: 'lobby-now' });
    record.load.lobbyAfter = strip(await gen.waitFor('lobby-now', 30_000));
    log(`phase 1: delivered ${record.load.deliveredPerSec}/s, p50 ${record.load.latencyMs.p50} ms, p99 ${record.load.latencyMs.p99} ms`);

    if (slowPhase) {
      log(`phase 2: connecting ${opts.roomsCount * opts.slowPerRoom} slow readers …`);
      gen.send({ cmd: 'slow-connect' });
      record.slowSetup = strip(await gen.waitFor('slow-ready', 320_000));
      await sleep(1000);
      gen.send({ cmd: 'slow-pause' });
      record.slowSetup.fill = strip(await gen.waitFor('slow-paused', 320_000));
      log(`phase 2: slow readers paused${opts.slowFillMib > 0 ? ` and filled (${record.slowSetup.fill.fillS} s)` : ''}; measuring ${opts.seconds} s …`);
      record.slowPhase = await measureWindow(brokers, gen, opts);
    }
    gen.send({ cmd: 'stop' });
    const stopped = await gen.waitFor('stopped', 90_000);
    record.stop = stopped.drain;
    if (slowPhase) {
      record.slow = stopped.slow;
      log(`phase 2: slow readers got ${record.slow.positionsReceived} of ${record.slow.publishedToTheirRooms} positions after resuming (${record.slow.jumps} marked jumps, ${record.slow.unmarkedGaps} unmarked)`);
      gen.send({ cmd: 'lobby-now' });
      record.slowPhase.lobbyAfter = strip(await gen.waitFor('lobby-now', 30_000));
    }
    record.rssAtEndMiB = rssOf(brokers);
    // Closes by code (chorus_closes_total{code="…"}), and the whole run's counters.
    record.metricsAtEnd = await Promise.all(brokers.map((b) => scrape(b.port, METRICS, ['chorus_closes_total'])));
  }
}

/** One measured window: CPU samples around it, /metrics deltas, RSS, the generator's counts, a verdict. */
async function measureWindow(brokers, gen, opts) {
  const m0 = await Promise.all(brokers.map((b) => scrape(b.port, METRICS)));
  const c0 = cpuSample(brokers, gen.child.pid);
  gen.send({ cmd: 'start' });
  await sleep(opts.seconds * 1000);
  const c1 = cpuSample(brokers, gen.child.pid);
  gen.send({ cmd: 'end' });
  const counts = strip(await gen.waitFor('result', 60_000));
  const m1 = await Promise.all(brokers.map((b) => scrape(b.port, METRICS)));
  const s = (c1.t - c0.t) / 1000;
  const pct = (a, b) => (a === null || b === null ? null : round(((b - a) / TICKS / s) * 100, 1));
  const perS = (a, b) => (a === null || b === null ? null : Math.round((b - a) / s));
  const brokerFigures = brokers.map((b, i) => ({
    name: b.name,
    cpuPct: pct(c0.brokers[i], c1.brokers[i]),
    rssMiB: readRssMiB(b.pid),
    messagesInPerSec: perS(m0[i].chorus_messages_in_total, m1[i].chorus_messages_in_total),
    messagesOutPerSec: perS(m0[i].chorus_messages_out_total, m1[i].chorus_messages_out_total),
    linkBytesPerSec: perS(m0[i].chorus_cluster_link_bytes_total, m1[i].chorus_cluster_link_bytes_total),
    conflated: m1[i].chorus_messages_conflated_total === null ? null : m1[i].chorus_messages_conflated_total - (m0[i].chorus_messages_conflated_total ?? 0),
    slowConsumerCloses: m1[i].chorus_slow_consumers_total === null ? null : m1[i].chorus_slow_consumers_total - (m0[i].chorus_slow_consumers_total ?? 0),
    closes: m1[i].chorus_closes_total === null ? null : m1[i].chorus_closes_total - (m0[i].chorus_closes_total ?? 0),
    connections: m1[i].chorus_connections,
  }));
  const brokersCpuPct = brokerFigures.some((b) => b.cpuPct === null) ? null : round(brokerFigures.reduce((a, b) => a + b.cpuPct, 0), 1);
  const generatorCpuPct = pct(c0.generator, c1.generator);
  const machinePct = c0.machine === null || c1.machine === null ? null : pct(c0.machine.busy, c1.machine.busy);
  const irqPct = c0.machine === null || c1.machine === null ? null : pct(c0.machine.irq, c1.machine.irq);
  const selfPct = pct(c0.self, c1.self) ?? 0;
  const otherPct = machinePct === null || brokersCpuPct === null || generatorCpuPct === null ? null : Math.max(0, round(machinePct - irqPct - brokersCpuPct - generatorCpuPct - selfPct, 1));
  const window = {
    seconds: round(s, 3),
    targetPublishesPerSec: Math.round(counts.targetPublishes / counts.elapsedS),
    publishedPerSec: Math.round(counts.sent / counts.elapsedS),
    publishedOfTarget: counts.targetPublishes === 0 ? null : round(counts.sent / counts.targetPublishes, 3),
    // Refused by a broker whose mesh backlog was full (TooManyRequests): counted, never delivered.
    refusedPerSec: Math.round(counts.refused / counts.elapsedS),
    deliveredPerSec: Math.round(counts.delivered / counts.elapsedS),
    // Each position goes to every player of its room (the publisher too), unless a broker refused it
    // (refusals come back late when a broker is behind, so this is not refusals subtracted).
    expectedDeliveredPerSec: Math.round((counts.sent * opts.players) / counts.elapsedS),
    latencyMs: counts.latencyMs,
    brokers: brokerFigures,
    brokersCpuPct,
    generatorCpuPct,
    machineCpuPct: machinePct,
    irqCpuPct: irqPct,
    otherProcessesCpuPct: otherPct,
    generator: counts,
  };
  window.verdict = verdict(window, opts);
  return window;
}

function cpuSample(brokers, generatorPid) {
  return { t: monoMs(), brokers: brokers.map((b) => readProcTicks(b.pid)), generator: readProcTicks(generatorPid), self: readProcTicks(process.pid), machine: machineTicks() };
}

const rssOf = (brokers) => Object.fromEntries(brokers.map((b) => [b.name, readRssMiB(b.pid)]));

function strip(m) {
  const { type, ...rest } = m;
  return rest;
}

/** The generator child on core 1, and its message inbox. An error it reports aborts the run. */
function startGenerator(procs, abort) {
  const child = procs.spawn('load generator', 1, process.execPath, [GENERATOR], ['ignore', 'inherit', 'pipe', 'ipc']);
  const inbox = [];
  const waiters = [];
  child.on('message', (m) => {
    if (m?.type === 'error') return abort(new Error(`load generator: ${m.message}`));
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  return {
    child,
    send(m) {
      if (child.connected) child.send(m);
    },
    waitFor(type, timeoutMs) {
      return new Promise((resolve, reject) => {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return resolve(inbox.splice(i, 1)[0]);
        const timer = setTimeout(() => reject(new Error(`no "${type}" from the load generator within ${timeoutMs / 1000} s`)), timeoutMs);
        waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
  };
}
