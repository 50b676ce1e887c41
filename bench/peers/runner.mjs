/**
 * One run: one peer under one workload, from a fresh server to its figures.
 *   1. start the server on core 0 (servers.mjs);
 *   2. start the load generator (generator.mjs) on core 1, have it connect and subscribe;
 *   3. W1–W3: publish for the warm-up, then sample the CPU time (utime + stime from
 *      /proc/PID/stat) of the server and the generator, let it run the measured seconds,
 *      sample again, stop publishing and let the generator drain and count;
 *      W4: read the server's VmRSS, have the generator open every connection (CPU sampled
 *      around that), wait the settle time, read VmRSS again, close them;
 *   4. stop both, by PID.
 * A watchdog bounds the whole run; a server or generator that dies fails the run; either
 * way both processes are killed and the next run goes on.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clockTicksPerSecond, monoMs, readProcTicks, sleep } from '../lib/system.mjs';
import { adapterUrl } from './peers.mjs';
import { readRssKiB, startServer } from './servers.mjs';

const GENERATOR = fileURLToPath(new URL('./generator.mjs', import.meta.url));
const TICKS = clockTicksPerSecond();

/** The parameters each workload's generator gets, from the options. */
export function workloadParams(workload, o) {
  const flow = { payload: o.payload, burst: o.burst, bufferHigh: o.bufferHigh, bufferLow: o.bufferLow, openBatch: o.openBatch };
  switch (workload) {
    case 'W1':
      return { ...flow, subscribers: o.w1Subscribers, window: o.w1Window, warmupS: o.warmup, seconds: o.seconds };
    case 'W2':
      return { ...flow, topics: o.w2Topics, connections: o.w2Connections, window: o.w2Window, warmupS: o.warmup, seconds: o.seconds };
    case 'W3':
      return { payload: o.payload, bufferHigh: o.bufferHigh, openBatch: o.openBatch, subscribers: o.w3Subscribers, rate: o.w3Rate, warmupS: o.warmup, seconds: o.seconds };
    case 'W4':
      return { connections: o.w4Connections, batch: o.w4Batch, settleS: o.w4Settle };
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

function watchdogMs(workload, p) {
  return workload === 'W4' ? 180_000 + p.settleS * 2000 : 90_000 + (p.warmupS + p.seconds) * 1000;
}

/** The generator child and its message inbox. */
function startGenerator(procs) {
  const child = procs.spawn(1, process.execPath, [...procs.nodeFlags(), GENERATOR], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const inbox = [];
  const waiters = [];
  let failure = null;
  const failAll = (err) => {
    failure ??= err;
    for (const w of waiters.splice(0)) w.reject(failure);
  };
  child.on('message', (m) => {
    if (m?.type === 'error') return failAll(new Error(`load generator: ${m.message}`));
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.once('exit', (code, signal) => failAll(new Error(`load generator exited (${code ?? signal}): ${child.stderrTail.trim().slice(-1500)}`)));
  child.once('error', (err) => failAll(err));
  return {
    child,
    send(m) {
      if (child.connected) child.send(m);
    },
    waitFor(type, timeoutMs) {
      return new Promise((resolve, reject) => {
        if (failure !== null) return reject(failure);
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return resolve(inbox.splice(i, 1)[0]);
        const timer = setTimeout(() => reject(new Error(`no "${type}" from the load generator within ${timeoutMs / 1000} s`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
  };
}

/** The machine's busy ticks, and the part spent in interrupts (loopback networking runs there, charged to no process). */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …
    return { busy: f[0] + f[1] + f[2] + f[5] + f[6] + f[7], irq: f[5] + f[6] };
  } catch {
    return null;
  }
}

/** CPU time of the server, the generator, this process and the whole machine, at one moment. */
function cpuSample(serverPid, generatorPid) {
  return { t: monoMs(), server: readProcTicks(serverPid), generator: readProcTicks(generatorPid), self: readProcTicks(process.pid), machine: machineTicks() };
}

/**
 * % of one core between two samples: server, generator, interrupts (softirq: loopback TCP),
 * and other processes (the machine's busy time less all of those and this process).
 */
function cpuBetween(a, b) {
  const s = (b.t - a.t) / 1000;
  const pct = (x0, x1) => (x0 === null || x1 === null ? null : Math.round(((x1 - x0) / TICKS / s) * 1000) / 10);
  const serverPct = pct(a.server, b.server);
  const generatorPct = pct(a.generator, b.generator);
  if (a.machine === null || b.machine === null) return { serverPct, generatorPct, machinePct: null, irqPct: null, otherPct: null };
  const machinePct = pct(a.machine.busy, b.machine.busy);
  const irqPct = pct(a.machine.irq, b.machine.irq);
  const selfPct = pct(a.self, b.self) ?? 0;
  const otherPct = serverPct === null || generatorPct === null ? null : Math.max(0, Math.round((machinePct - irqPct - serverPct - generatorPct - selfPct) * 10) / 10);
  return { serverPct, generatorPct, machinePct, irqPct, otherPct };
}

/**
 * Someone else may be using the machine: before a run, wait (at most maxS) until the whole
 * machine used less than a quarter of one core over one second. Returns the seconds waited
 * and the last busy figure (% of one core).
 */
async function waitQuiet(maxS) {
  const t0 = monoMs();
  let busyPct = null;
  do {
    const a = machineTicks();
    await sleep(1000);
    const b = machineTicks();
    if (a === null || b === null) return { waitedS: 0, busyPct: null };
    busyPct = Math.round(((b.busy - a.busy) / TICKS) * 1000) / 10;
    if (busyPct < 25) break;
  } while (monoMs() - t0 < maxS * 1000);
  return { waitedS: Math.round(monoMs() - t0) / 1000, busyPct };
}

/** Runs `peer` under `workload`; resolves to the run's record (ok: false and error on failure). */
export async function runOne({ peer, workload, opts, procs, log }) {
  const params = workloadParams(workload, opts);
  const t0 = monoMs();
  const record = { peer: peer.name, workload, ok: false, params, startedAt: new Date().toISOString() };
  if (opts.quietWait > 0) {
    record.beforeRun = await waitQuiet(opts.quietWait);
    if (record.beforeRun.busyPct !== null && record.beforeRun.busyPct >= 25) log(`  the machine is busy (${record.beforeRun.busyPct}% of a core used by others): running anyway`);
  }
  let server = null;
  let gen = null;
  let timer;
  let serverDied;
  const failed = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watchdog: the run took longer than ${watchdogMs(workload, params) / 1000} s`)), watchdogMs(workload, params));
    serverDied = (code, signal) => reject(new Error(`the server exited during the run (${code ?? signal}): ${server?.child.stderrTail.trim().slice(-1500) ?? ''}`));
  });
  failed.catch(() => {});
  const body = async () => {
    gen = startGenerator(procs); // starts while the server does
    record.generatorPid = gen.child.pid;
    server = await startServer(peer.server, procs);
    server.child.once('exit', serverDied);
    record.server = { kind: peer.server, pid: server.pid, url: server.url };
    gen.send({ cmd: 'setup', adapter: adapterUrl(peer), url: server.url, workload, params });
    record.setupS = (await gen.waitFor('ready', 120_000)).setupS;
    record.readyAtS = Math.round(monoMs() - t0) / 1000;
    if (workload === 'W4') return runW4(record, server, gen, params);
    gen.send({ cmd: 'go' });
    await sleep(params.warmupS * 1000);
    const c0 = cpuSample(server.pid, gen.child.pid);
    gen.send({ cmd: 'start' });
    await sleep(params.seconds * 1000);
    const c1 = cpuSample(server.pid, gen.child.pid);
    gen.send({ cmd: 'end' });
    const result = await gen.waitFor('result', 60_000);
    delete result.type;
    Object.assign(record, result, { cpu: cpuBetween(c0, c1) });
    record.serverRssKiB = readRssKiB(server.pid);
  };
  try {
    await Promise.race([body(), failed]);
    record.ok = true;
  } catch (err) {
    record.error = err?.message ?? String(err);
    log(`  ${peer.name} ${workload}: FAILED: ${record.error}`);
  } finally {
    clearTimeout(timer);
    server?.child.off('exit', serverDied);
    gen?.send({ cmd: 'exit' });
    const t = monoMs();
    const [, serverStop] = await Promise.all([gen === null ? null : procs.stop(gen.child, 2000), server === null ? null : procs.stop(server.child, 3000)]);
    if (server !== null) {
      server.cleanup();
      // How the server ended (a SIGKILL means it had not exited 3 s after SIGTERM), and what it logged meanwhile.
      record.serverStop = { by: serverStop, seconds: Math.round(monoMs() - t) / 1000 };
      if (server.child.events !== undefined) record.serverEvents = server.child.events;
    }
  }
  record.durationS = Math.round(monoMs() - t0) / 1000;
  return record;
}

async function runW4(record, server, gen, p) {
  await sleep(Math.min(1000, p.settleS * 500)); // the fresh server settles before the baseline
  const rssBefore = readRssKiB(server.pid);
  const c0 = cpuSample(server.pid, gen.child.pid);
  gen.send({ cmd: 'open' });
  const opened = await gen.waitFor('opened', 150_000);
  const c1 = cpuSample(server.pid, gen.child.pid);
  await sleep(p.settleS * 1000);
  const rssAfter = readRssKiB(server.pid);
  gen.send({ cmd: 'close' });
  const closed = await gen.waitFor('closed', 60_000);
  delete opened.type;
  delete closed.type;
  Object.assign(record, opened, closed, {
    connections: p.connections,
    rssBeforeKiB: rssBefore,
    rssAfterKiB: rssAfter,
    rssPerConnKiB: rssBefore === null || rssAfter === null || opened.opened === 0 ? null : Math.round(((rssAfter - rssBefore) / opened.opened) * 100) / 100,
    cpu: cpuBetween(c0, c1),
  });
}
