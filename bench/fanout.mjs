#!/usr/bin/env node
/**
 * Fan-out benchmark: 1 publisher -> N subscribers of one topic on one broker.
 *
 *   npm run bench                                   # 100 subscribers, 10 s, 128-byte payloads
 *   node bench/fanout.mjs --seconds 5 --rate 2000   # paced instead of flow-controlled
 *
 * Layout (sized for a 2-core machine: the broker gets one core, the clients the other):
 *   - main thread (this file): spawns the broker (`dist/broker/main/cli.js`) as a child
 *     process on 127.0.0.1, drives the phases (warm-up, measure, drain), samples the
 *     broker's CPU from /proc/<pid>/stat, scrapes /metrics, prints the summary, and kills
 *     the broker by PID at the end, on error, on SIGINT/SIGTERM and when the watchdog fires;
 *   - one worker thread (lib/clients.mjs): the publisher and all N subscribers, each its
 *     own connection made with the real client library (dist/client/index.js);
 *     --raw-subscribers swaps the subscribers for bare `ws` sockets and a frame scanner
 *     (lib/raw-subscriber.mjs), a cheaper load generator.
 *
 * Files: this one owns the options and the orchestration; lib/system.mjs the clock, /proc
 * and /metrics readers; lib/report.mjs the verdict and the summary; lib/common.mjs the
 * topic, the dist/ paths and rounding.
 *
 * Publisher and subscribers share one thread, so the send timestamp written in the
 * payload (performance.now(), float64 LE at byte 0; the publish index at byte 8) is on
 * the same clock as the receive time. Without --rate the publisher keeps at most
 * --window messages "in flight", where a message stays in flight until every
 * subscriber has received it: end-to-end flow control, so neither the broker nor its
 * socket buffers are flooded beyond what the fan-out drains. With --rate it paces to
 * that many messages/s, still never more than --window in flight.
 *
 * Every subscriber checks that topic seqs arrive consecutive: a seq at or below the
 * last one seen is a duplicate, a jump is a gap (lost messages); after the run it waits
 * for the tail and counts what never arrived as lost too.
 *
 * The last line printed is one JSON object with every figure.
 * Exit status: 0 ok, 1 failed to run, 2 bad arguments, 3 messages lost or duplicated.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { BROKER_CLI_URL, CLIENT_URL, TOPIC, round } from './lib/common.mjs';
import { bottleneckVerdict, printSummary } from './lib/report.mjs';
import { clockTicksPerSecond, monoMs, readMachineTicks, readProcTicks, scrapeMetrics, sleep } from './lib/system.mjs';

const BROKER_CLI = fileURLToPath(BROKER_CLI_URL);
const CLIENTS_WORKER_URL = new URL('./lib/clients.mjs', import.meta.url);

class UsageError extends Error {}

await main();

function usage() {
  return `Usage: node bench/fanout.mjs [options]

  --subscribers N     subscriber connections                        [default 100]
  --seconds S         measured duration, after the warm-up           [default 10]
  --payload BYTES     publish payload size (binary data field)       [default 128, min 16]
  --rate MSGS_PER_S   pace the publisher (default: as fast as the window allows)
  --window W          most messages in flight (published, not yet
                      received by every subscriber)                  [default 200]
  --burst B           most publishes issued per event-loop turn, so a window
                      refill reaches the broker as several batches         [default window/4]
  --warmup S          warm-up before measuring                       [default 1]
  --raw-subscribers   subscribers speak the wire protocol over bare \`ws\` sockets and
                      scan frames for seq and data only, instead of using the client
                      library: a cheaper load generator, to find the broker's ceiling
  --cpu-prof-dir DIR  run the broker under node --cpu-prof, profile written to DIR
  --help`;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      subscribers: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '10' },
      payload: { type: 'string', default: '128' },
      rate: { type: 'string' },
      window: { type: 'string', default: '200' },
      burst: { type: 'string' },
      warmup: { type: 'string', default: '1' },
      'raw-subscribers': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  const num = (name, { int = false, min = 0, max = Infinity } = {}) => {
    const raw = values[name];
    const n = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
      throw new UsageError(`--${name}: ${JSON.stringify(raw)} is not ${int ? 'a whole number' : 'a number'} in [${min}, ${max}]`);
    }
    return n;
  };
  return {
    subscribers: num('subscribers', { int: true, min: 1, max: 10_000 }),
    seconds: num('seconds', { min: 0.1, max: 3600 }),
    payload: num('payload', { int: true, min: 16, max: 1_000_000 }),
    rate: values.rate === undefined ? null : num('rate', { min: 1, max: 10_000_000 }),
    window: num('window', { int: true, min: 1, max: 1_000_000 }),
    burst: values.burst === undefined ? null : num('burst', { int: true, min: 1, max: 1_000_000 }),
    warmup: num('warmup', { min: 0, max: 600 }),
    rawSubscribers: values['raw-subscribers'],
    cpuProfDir: values['cpu-prof-dir'] ?? null,
  };
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fanout: ${err.message}\n\n${usage()}\n`);
    process.exit(2);
  }
  if (!existsSync(BROKER_CLI) || !existsSync(fileURLToPath(CLIENT_URL))) {
    process.stderr.write('fanout: dist/ is missing; run `npm run build` first\n');
    process.exit(1);
  }

  const startedAt = new Date().toISOString();
  let broker = null;
  let worker = null;
  let brokerStderr = '';
  let finished = false;

  const brokerAlive = () => broker !== null && broker.exitCode === null && broker.signalCode === null;
  const killBrokerNow = () => {
    if (brokerAlive()) {
      try {
        process.kill(broker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  /** SIGTERM (lets the broker drain and write a --cpu-prof profile), SIGKILL after 5 s. */
  const stopBroker = async () => {
    if (!brokerAlive()) return;
    const exited = new Promise((resolve) => broker.once('exit', resolve));
    try {
      process.kill(broker.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(killBrokerNow, 5000);
    await exited;
    clearTimeout(timer);
  };
  const fail = async (message, code = 1) => {
    if (finished) return;
    finished = true;
    process.stderr.write(`fanout: ${message}\n`);
    if (brokerStderr.trim() !== '') process.stderr.write(`broker stderr (tail):\n${brokerStderr.slice(-2000)}\n`);
    await worker?.terminate().catch(() => {});
    killBrokerNow();
    process.exit(code);
  };
  process.on('exit', killBrokerNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (!finished) return void fail(`interrupted by ${signal}`, 130);
      killBrokerNow();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => void fail(`uncaught: ${err?.stack ?? err}`));
  process.on('unhandledRejection', (err) => void fail(`unhandled rejection: ${err?.stack ?? err}`));

  // Everything — start-up, warm-up, measurement, drain, shutdown — is bounded.
  const watchdogMs = (opts.warmup + opts.seconds) * 1000 + 90_000;
  const watchdog = setTimeout(() => void fail(`watchdog: the run took longer than ${Math.round(watchdogMs / 1000)} s`), watchdogMs);

  // Every in-flight message sits in every subscriber's outbound queue at worst: keep the
  // window under half the broker's per-connection limit (8 MiB) so nobody is cut as slow.
  const windowCap = Math.max(1, Math.floor((4 * 1024 * 1024) / (opts.payload + 128)));
  if (opts.window > windowCap) {
    process.stderr.write(`fanout: --window ${opts.window} lowered to ${windowCap} (${opts.payload}-byte payloads; in-flight bytes stay under 4 MiB per subscriber)\n`);
    opts.window = windowCap;
  }
  opts.burst = Math.min(opts.burst ?? Math.ceil(opts.window / 4), opts.window);

  // ---- broker -------------------------------------------------------------------
  const nodeFlags = opts.cpuProfDir !== null ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  const brokerArgs = ['--port', '0', '--host', '127.0.0.1', '--log-level', 'info'];
  // The default broker limit on publish data is 64 KiB of msgpack; raise it for larger payloads.
  if (opts.payload + 8 > 64 * 1024) brokerArgs.push('--payload-bytes-max', String(opts.payload + 8), '--frame-bytes-max', String(Math.max(1024 * 1024, 2 * opts.payload + 4096)));
  broker = spawn(process.execPath, [...nodeFlags, BROKER_CLI, ...brokerArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  broker.stderr.setEncoding('utf8');
  broker.stderr.on('data', (chunk) => {
    brokerStderr = (brokerStderr + chunk).slice(-8000);
  });
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker did not report listening within 15 s')), 15_000);
    const lines = createInterface({ input: broker.stdout });
    lines.on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.event === 'listening') {
        clearTimeout(timer);
        resolve(event);
      }
    });
    broker.once('error', (err) => reject(err));
    broker.once('exit', (code, signal) => {
      if (!finished) reject(new Error(`broker exited (code ${code}, signal ${signal})`));
    });
  }).catch((err) => fail(`cannot start the broker: ${err.message}`));
  broker.on('exit', (code, signal) => {
    if (!finished) void fail(`broker exited during the run (code ${code}, signal ${signal})`);
  });
  const brokerPid = broker.pid;
  const brokerUrl = `ws://127.0.0.1:${listening.port}/ws`;

  // ---- clients (worker) ------------------------------------------------------------
  worker = new Worker(CLIENTS_WORKER_URL, {
    workerData: { url: brokerUrl, subscribers: opts.subscribers, payload: opts.payload, rate: opts.rate, window: opts.window, burst: opts.burst, raw: opts.rawSubscribers },
  });
  const inbox = [];
  const waiters = [];
  worker.on('message', (m) => {
    if (m.type === 'error') return void fail(`client worker: ${m.message}`);
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else inbox.push(m);
  });
  worker.on('error', (err) => void fail(`client worker crashed: ${err?.stack ?? err}`));
  worker.on('exit', (code) => {
    if (!finished && code !== 0) void fail(`client worker exited with code ${code}`);
  });
  const waitFor = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const i = inbox.findIndex((x) => x.type === type);
      if (i >= 0) return resolve(inbox.splice(i, 1)[0]);
      const timer = setTimeout(() => reject(new Error(`no "${type}" from the client worker within ${timeoutMs / 1000} s`)), timeoutMs);
      waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    }).catch((err) => fail(err.message));

  const ready = await waitFor('ready', 30_000);
  const ticksPerSecond = clockTicksPerSecond();

  // ---- warm-up, then measure ------------------------------------------------------------
  worker.postMessage({ cmd: 'go' });
  await sleep(opts.warmup * 1000);

  const t0 = monoMs();
  const brokerTicks0 = readProcTicks(brokerPid);
  const machine0 = readMachineTicks();
  const selfCpu0 = process.cpuUsage();
  worker.postMessage({ cmd: 'start' });
  const metrics0 = await scrapeMetrics(listening.port);

  await sleep(Math.max(0, opts.seconds * 1000 - (monoMs() - t0)));

  const t1 = monoMs();
  const brokerTicks1 = readProcTicks(brokerPid);
  const machine1 = readMachineTicks();
  const selfCpu1 = process.cpuUsage(selfCpu0);
  worker.postMessage({ cmd: 'end' });
  const metrics1 = await scrapeMetrics(listening.port);

  const result = await waitFor('result', 30_000);
  finished = true;
  clearTimeout(watchdog);
  await worker.terminate().catch(() => {});
  await stopBroker();

  // ---- figures -------------------------------------------------------------------------
  const elapsedS = (t1 - t0) / 1000;
  const delta = (name) => (metrics0[name] === null || metrics1[name] === null ? null : metrics1[name] - metrics0[name]);
  const perS = (x) => (x === null ? null : x / elapsedS);
  const brokerCpuPct = brokerTicks0 === null || brokerTicks1 === null ? null : ((brokerTicks1 - brokerTicks0) / ticksPerSecond / elapsedS) * 100;
  const metricsCpu = delta('chorus_process_cpu_seconds_total');
  const clientCpuPct = ((selfCpu1.user + selfCpu1.system) / 1e6 / elapsedS) * 100;
  // Whole machine, in % of one core (2 cores = 200%): what else ran beside broker and clients.
  const machineCpuPct = machine0 === null || machine1 === null ? null : ((machine1.busy - machine0.busy) / ticksPerSecond / elapsedS) * 100;
  const stealPct = machine0 === null || machine1 === null ? null : ((machine1.steal - machine0.steal) / ticksPerSecond / elapsedS) * 100;
  const otherCpuPct = machineCpuPct === null || brokerCpuPct === null ? null : Math.max(0, machineCpuPct - brokerCpuPct - clientCpuPct);
  const r = result;
  const figures = {
    bench: 'chorus-fanout',
    startedAt,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
    argv: process.argv.slice(2),
    config: {
      subscribers: opts.subscribers,
      seconds: opts.seconds,
      warmupSeconds: opts.warmup,
      payloadBytes: opts.payload,
      rate: opts.rate,
      window: opts.window,
      burst: opts.burst,
      subscriberClient: opts.rawSubscribers ? 'raw ws + frame scanner' : 'chorus client library',
      topic: TOPIC,
    },
    broker: { pid: brokerPid, url: brokerUrl, id: listening.broker ?? null },
    measuredSeconds: round(elapsedS, 3),
    deliveredPerSec: round(r.delivered / r.elapsedS, 0),
    deliveredPerSubscriberPerSec: {
      min: round(r.perSubMin / r.elapsedS, 0),
      max: round(r.perSubMax / r.elapsedS, 0),
    },
    publishedPerSec: round(r.published / r.elapsedS, 0),
    delivered: r.delivered,
    published: r.published,
    latencyMs: r.latencyMs,
    brokerCpuPct: round(brokerCpuPct, 1),
    brokerCpuPctFromMetrics: metricsCpu === null ? null : round((metricsCpu / elapsedS) * 100, 1),
    brokerMessagesOutPerSec: round(perS(delta('chorus_messages_out_total')), 0),
    brokerMessagesInPerSec: round(perS(delta('chorus_messages_in_total')), 0),
    brokerFramesOutPerSec: round(perS(delta('chorus_frames_out_total')), 0),
    brokerBytesOutMBPerSec: round(perS(delta('chorus_bytes_out_total')) === null ? null : perS(delta('chorus_bytes_out_total')) / 1e6, 2),
    clientProcessCpuPct: round(clientCpuPct, 1),
    clientThreadUtilizationPct: round(r.eventLoopUtilization * 100, 1),
    clientEventLoopDelayP99Ms: r.eventLoopDelayP99Ms,
    machineCpuPct: round(machineCpuPct, 1),
    otherProcessesCpuPct: round(otherCpuPct, 1),
    stealCpuPct: round(stealPct, 1),
    lost: r.lost,
    duplicated: r.duplicated,
    gaps: r.gaps,
    seqMismatches: r.seqMismatches,
    publishErrors: r.publishErrors,
    firstPublishError: r.firstPublishError,
    disconnects: r.disconnects,
    resyncs: r.resyncs,
    slowConsumerCloses: delta('chorus_slow_consumers_total'),
    drained: r.drained,
    connectMs: ready.connectMs,
  };

  figures.bottleneck = bottleneckVerdict(figures, opts.rate);

  printSummary(figures);
  process.stdout.write(JSON.stringify(figures) + '\n');
  process.exit(figures.lost > 0 || figures.duplicated > 0 ? 3 : 0);
}
