#!/usr/bin/env node
/**
 * Fan-out benchmark: 1 publisher -> N subscribers of one topic on one broker.
 *
 *   npm run bench                                   # 100 subscribers, 10 s, 128-byte payloads
 *   node bench/fanout.mjs --seconds 5 --rate 2000   # paced instead of flow-controlled
 *
 * Layout (sized for a 2-core machine: the broker gets one core, the clients the other):
 *   - main thread: spawns the broker (`dist/broker/main/cli.js`) as a child process on
 *     127.0.0.1, drives the phases (warm-up, measure, drain), samples the broker's CPU
 *     from /proc/<pid>/stat, scrapes /metrics, prints the summary, and kills the broker
 *     by PID at the end, on error, on SIGINT/SIGTERM and when the watchdog fires;
 *   - one worker thread: the publisher and all N subscribers, each its own connection
 *     made with the real client library (dist/client/index.js).
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
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const TOPIC = 'bench.fanout';
const CLIENT_URL = new URL('../dist/client/index.js', import.meta.url);
const BROKER_CLI = fileURLToPath(new URL('../dist/broker/main/cli.js', import.meta.url));

if (isMainThread) {
  await main();
} else {
  await workerMain(workerData);
}

// =====================================================================================
// Main thread: orchestration
// =====================================================================================

function usage() {
  return `Usage: node bench/fanout.mjs [options]

  --subscribers N     subscriber connections                        [default 100]
  --seconds S         measured duration, after the warm-up           [default 10]
  --payload BYTES     publish payload size (binary data field)       [default 128, min 16]
  --rate MSGS_PER_S   pace the publisher (default: as fast as the window allows)
  --window W          most messages in flight (published, not yet
                      received by every subscriber)                  [default 200]
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
    warmup: num('warmup', { min: 0, max: 600 }),
    rawSubscribers: values['raw-subscribers'],
    cpuProfDir: values['cpu-prof-dir'] ?? null,
  };
}

class UsageError extends Error {}

/** Monotonic ms, same clock in every thread of the process. */
function monoMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function clockTicksPerSecond() {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(n) && n > 0) return n;
  } catch {
    // fall through
  }
  return 100;
}

/** utime + stime of a process, in clock ticks; null where /proc is not there. */
function readProcTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

/** Sums every series of each wanted metric (labels ignored). */
async function scrapeMetrics(port) {
  const wanted = [
    'chorus_messages_out_total',
    'chorus_messages_in_total',
    'chorus_process_cpu_seconds_total',
    'chorus_bytes_out_total',
    'chorus_frames_out_total',
    'chorus_slow_consumers_total',
  ];
  const out = Object.fromEntries(wanted.map((w) => [w, null]));
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m === null || !(m[1] in out)) continue;
      out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
    }
  } catch {
    // leave nulls: the figures derived from them are reported as null
  }
  return out;
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
  worker = new Worker(new URL(import.meta.url), {
    workerData: { url: brokerUrl, subscribers: opts.subscribers, payload: opts.payload, rate: opts.rate, window: opts.window, raw: opts.rawSubscribers },
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
  const selfCpu0 = process.cpuUsage();
  worker.postMessage({ cmd: 'start' });
  const metrics0 = await scrapeMetrics(listening.port);

  await sleep(Math.max(0, opts.seconds * 1000 - (monoMs() - t0)));

  const t1 = monoMs();
  const brokerTicks1 = readProcTicks(brokerPid);
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

  const bottleneck =
    figures.clientThreadUtilizationPct >= 90 && (figures.brokerCpuPct ?? 0) < 90
      ? 'client side (the load generator thread is saturated; broker figures are a lower bound)'
      : (figures.brokerCpuPct ?? 0) >= 90
        ? 'broker (one core saturated)'
        : opts.rate !== null
          ? 'none (paced run)'
          : 'neither side saturated (window-limited: try a larger --window)';
  figures.bottleneck = bottleneck;

  printSummary(figures);
  process.stdout.write(JSON.stringify(figures) + '\n');
  process.exit(figures.lost > 0 || figures.duplicated > 0 ? 3 : 0);
}

function printSummary(f) {
  const fmt = (x, unit = '') => (x === null || x === undefined ? 'n/a' : `${typeof x === 'number' ? x.toLocaleString('en-US') : x}${unit}`);
  const l = f.latencyMs;
  const lines = [
    '',
    `Chorus fan-out benchmark — node ${f.node}, ${f.platform}, ${f.cpus} CPUs`,
    `  args:        ${f.argv.length === 0 ? '(defaults)' : f.argv.join(' ')}`,
    `  setup:       1 publisher -> ${f.config.subscribers} subscribers on "${f.config.topic}", ${f.config.payloadBytes}-byte payloads, ` +
      `${f.config.rate === null ? `flow-controlled (window ${f.config.window} msgs)` : `paced at ${f.config.rate} msgs/s (window ${f.config.window})`}, ` +
      `${f.config.warmupSeconds} s warm-up + ${f.measuredSeconds} s measured`,
    `  clients:     1 worker thread; publisher: chorus client library; subscribers: ${f.config.subscriberClient}`,
    `  broker:      pid ${f.broker.pid}, ${f.broker.url}`,
    '',
    `  delivered:   ${fmt(f.deliveredPerSec)} msgs/s total across subscribers  (per subscriber ${fmt(f.deliveredPerSubscriberPerSec.min)}–${fmt(f.deliveredPerSubscriberPerSec.max)} msgs/s)`,
    `  published:   ${fmt(f.publishedPerSec)} msgs/s`,
    `  latency:     p50 ${fmt(l.p50)} ms   p90 ${fmt(l.p90)} ms   p99 ${fmt(l.p99)} ms   p99.9 ${fmt(l.p999)} ms   max ${fmt(l.max)} ms   (publish -> deliver, ${fmt(l.samples)} samples)`,
    `  broker CPU:  ${fmt(f.brokerCpuPct, '%')} of one core (/proc/${f.broker.pid}/stat)   [/metrics says ${fmt(f.brokerCpuPctFromMetrics, '%')}]`,
    `  broker out:  ${fmt(f.brokerMessagesOutPerSec)} msgs/s, ${fmt(f.brokerFramesOutPerSec)} frames/s, ${fmt(f.brokerBytesOutMBPerSec)} MB/s (from /metrics)`,
    `  client load: process CPU ${fmt(f.clientProcessCpuPct, '%')}, client thread busy ${fmt(f.clientThreadUtilizationPct, '%')}, event-loop delay p99 ${fmt(f.clientEventLoopDelayP99Ms)} ms`,
    `  integrity:   lost ${fmt(f.lost)}, duplicated ${fmt(f.duplicated)}, gaps ${fmt(f.gaps)}, disconnects ${fmt(f.disconnects)}, resyncs ${fmt(f.resyncs)}, ` +
      `publish errors ${fmt(f.publishErrors)}, slow-consumer closes ${fmt(f.slowConsumerCloses)}${f.drained ? '' : '  (tail NOT fully drained before the deadline)'}`,
    `  bottleneck:  ${f.bottleneck}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function round(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// =====================================================================================
// Worker thread: 1 publisher + N subscribers
// =====================================================================================

async function workerMain(cfg) {
  try {
    await runClients(cfg);
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: err?.stack ?? String(err) });
  }
}

async function runClients({ url, subscribers: n, payload, rate, window, raw }) {
  const { connect } = await import(CLIENT_URL.href);

  // In-flight tracking: remaining[seq & mask] = subscribers still to receive `seq`.
  let ringSize = 1;
  while (ringSize < 2 * window + 2) ringSize *= 2;
  const mask = ringSize - 1;
  const remaining = new Int32Array(ringSize);
  let sent = 0; // publishes issued; seq k is publish k (fresh topic, one publisher)
  let doneSeq = 0; // every seq <= doneSeq reached every subscriber (or was skipped by a gap)

  let measuring = false;
  let delivered = 0;
  let seqMismatches = 0;
  const latency = createHistogram();
  const scratch = new Uint8Array(16);
  const scratchF64 = new Float64Array(scratch.buffer);

  let publishing = false;
  let pumpScheduled = false;
  let acked = 0;
  let lastAckSeq = 0;
  let publishErrors = 0;
  let firstPublishError = null;
  let rateStart = 0;

  const states = [];
  const clients = [];

  const complete = (seq) => {
    const slot = seq & mask;
    if (--remaining[slot] === 0) {
      while (doneSeq < sent && remaining[(doneSeq + 1) & mask] === 0) doneSeq++;
      if (publishing && !pumpScheduled) {
        pumpScheduled = true;
        setImmediate(pump);
      }
    }
  };

  /** One delivered message: its seq, and its payload at bytes[offset…]. */
  const onDelivery = (st, seq, bytes, offset) => {
    const now = performance.now();
    if (seq <= st.last) {
      st.dup++;
      return;
    }
    if (seq !== st.last + 1) {
      st.gaps++;
      st.gapMsgs += seq - st.last - 1;
      for (let s = st.last + 1; s < seq; s++) complete(s);
    }
    st.last = seq;
    st.count++;
    delivered++;
    for (let k = 0; k < 16; k++) scratch[k] = bytes[offset + k];
    if (scratchF64[1] + 1 !== seq) seqMismatches++;
    if (measuring) latency.record(Math.max(1, Math.round((now - scratchF64[0]) * 1e6)));
    complete(seq);
  };
  const makeHandler = (st) => (msg) => onDelivery(st, msg.seq, msg.data, 0);

  // ---- connect ------------------------------------------------------------------
  const tConnect = performance.now();
  const publisher = await connect(url, { clientId: 'bench-publisher' });
  const batch = 20;
  for (let i = 0; i < n; i += batch) {
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
        const st = { id: i + j, last: 0, count: 0, countAtStart: 0, dup: 0, gaps: 0, gapMsgs: 0, disconnects: 0, resyncs: 0 };
        if (raw) return { st, client: await rawSubscriber(url, `bench-sub-${i + j}`, st, onDelivery) };
        const client = await connect(url, { clientId: `bench-sub-${i + j}` });
        client.on('disconnected', () => st.disconnects++);
        client.on('error', () => {});
        await client.subscribe(TOPIC, makeHandler(st), { onResync: () => st.resyncs++ });
        return { st, client };
      }),
    );
    for (const { st, client } of made) {
      states.push(st);
      clients.push(client);
    }
  }
  let publisherDisconnects = 0;
  publisher.on('disconnected', () => publisherDisconnects++);
  publisher.on('error', () => {});
  const connectMs = Math.round(performance.now() - tConnect);

  // ---- publish ------------------------------------------------------------------
  const publishOne = () => {
    const data = new Uint8Array(payload);
    const index = sent;
    sent++;
    remaining[sent & mask] = n;
    const view = new DataView(data.buffer);
    view.setFloat64(8, index, true);
    view.setFloat64(0, performance.now(), true);
    publisher.publish(TOPIC, data).then(
      (r) => {
        acked++;
        if (r.seq > lastAckSeq) lastAckSeq = r.seq;
      },
      (err) => {
        publishErrors++;
        firstPublishError ??= String(err?.message ?? err);
      },
    );
  };
  function pump() {
    pumpScheduled = false;
    if (!publishing) return;
    let budget = window - (sent - doneSeq);
    if (rate !== null) budget = Math.min(budget, Math.floor(((performance.now() - rateStart) * rate) / 1000) - sent);
    for (; budget > 0; budget--) publishOne();
  }

  // ---- phases, driven by the main thread ---------------------------------------------
  let rateTimer;
  let start;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  parentPort.on('message', async (m) => {
    try {
      if (m.cmd === 'go') {
        publishing = true;
        rateStart = performance.now();
        if (rate !== null) rateTimer = setInterval(pump, 1);
        pump();
      } else if (m.cmd === 'start') {
        measuring = true;
        latency.reset();
        loopDelay.enable();
        for (const st of states) st.countAtStart = st.count;
        start = { t: performance.now(), delivered, sent, elu: performance.eventLoopUtilization() };
      } else if (m.cmd === 'end') {
        measuring = false;
        publishing = false;
        clearInterval(rateTimer);
        const end = { t: performance.now(), delivered, sent, elu: performance.eventLoopUtilization(start.elu) };
        loopDelay.disable();
        const perSub = states.map((st) => st.count - st.countAtStart);

        // Drain: wait (bounded) for every publish to be answered and to reach every subscriber.
        const deadline = performance.now() + 10_000;
        let drained = false;
        while (performance.now() < deadline) {
          if (acked + publishErrors >= sent && states.every((st) => st.last >= lastAckSeq)) {
            drained = true;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const finalSeq = Math.max(lastAckSeq, sent - publishErrors);
        let lost = 0;
        let duplicated = 0;
        let gaps = 0;
        let disconnects = publisherDisconnects;
        let resyncs = 0;
        for (const st of states) {
          lost += st.gapMsgs + Math.max(0, finalSeq - st.last);
          duplicated += st.dup;
          gaps += st.gaps;
          disconnects += st.disconnects;
          resyncs += st.resyncs;
        }
        const ms = (ns) => round(ns / 1e6, 3);
        const samples = latency.count;
        parentPort.postMessage({
          type: 'result',
          elapsedS: (end.t - start.t) / 1000,
          delivered: end.delivered - start.delivered,
          published: end.sent - start.sent,
          perSubMin: Math.min(...perSub),
          perSubMax: Math.max(...perSub),
          latencyMs: {
            p50: samples ? ms(latency.percentile(50)) : null,
            p90: samples ? ms(latency.percentile(90)) : null,
            p99: samples ? ms(latency.percentile(99)) : null,
            p999: samples ? ms(latency.percentile(99.9)) : null,
            max: samples ? ms(latency.max) : null,
            mean: samples ? ms(latency.mean) : null,
            samples,
          },
          eventLoopUtilization: end.elu.utilization,
          eventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 2),
          lost,
          duplicated,
          gaps,
          seqMismatches,
          publishErrors,
          firstPublishError,
          disconnects,
          resyncs,
          drained,
          totalPublished: sent,
        });
        await Promise.allSettled([publisher.close(), ...clients.map((c) => c.close())]);
      }
    } catch (err) {
      parentPort.postMessage({ type: 'error', message: err?.stack ?? String(err) });
    }
  });
  parentPort.postMessage({ type: 'ready', connectMs });
}

// =====================================================================================
// Raw subscriber (--raw-subscribers): the wire protocol over a bare `ws` socket
// =====================================================================================

/**
 * Says hello, subscribes to TOPIC, then scans each inbound frame (a msgpack array of
 * maps) for the `msg` messages' seq and data without building any object. A frame
 * holding anything else (welcome, reply, ping, error) is decoded in full by the
 * protocol's own decoder. No reconnect: a close counts as a disconnect.
 */
async function rawSubscriber(url, clientId, st, onDelivery) {
  const [{ default: WebSocket }, protocol] = await Promise.all([import('ws'), import(new URL('../dist/client/protocol/index.js', import.meta.url).href)]);
  const { encodeFrame, decodeFrame, protocolVersion } = protocol;
  const socket = new WebSocket(url, { perMessageDeflate: false });
  let subscribed;
  const ready = new Promise((resolve, reject) => {
    subscribed = { resolve, reject };
    socket.once('error', reject);
    socket.once('close', (code, reason) => reject(new Error(`raw subscriber closed before subscribing: ${code} ${reason}`)));
  });
  socket.on('open', () => socket.send(encodeFrame([{ type: 'hello', v: protocolVersion, client: clientId }])));
  socket.on('close', () => st.disconnects++);
  socket.on('error', () => {});
  const control = (message) => {
    switch (message.type) {
      case 'welcome':
        socket.send(encodeFrame([{ type: 'sub', id: 1, topic: TOPIC }]));
        return;
      case 'reply':
        if (message.id === 1) subscribed.resolve();
        return;
      case 'ping':
        socket.send(encodeFrame([{ type: 'pong' }]));
        return;
      case 'error':
        if (message.id === 1) subscribed.reject(new Error(`subscribe refused: ${message.code} ${message.message}`));
        return;
      case 'msg':
        onDelivery(st, message.seq, message.data, 0);
        return;
      default:
        return;
    }
  };
  const found = { seq: 0, dataAt: -1 };
  socket.on('message', (buf) => {
    if (!scanFrame(buf, found, (seq, dataAt) => onDelivery(st, seq, buf, dataAt))) {
      const decoded = decodeFrame(buf);
      if (!decoded.ok) return socket.terminate();
      for (const m of decoded.messages) control(m);
    }
  });
  await ready;
  return { close: () => socket.close(1000, 'bench done') };
}

/**
 * Scans a frame of `msg` messages: calls deliver(seq, dataOffset) for each and
 * returns true; returns false, having delivered nothing, as soon as the frame holds
 * anything but msg messages (the caller then decodes it in full).
 */
function scanFrame(b, found, deliver) {
  let p = 0;
  let count;
  const h = b[p++];
  if ((h & 0xf0) === 0x90) count = h & 0x0f;
  else if (h === 0xdc) (count = (b[p] << 8) | b[p + 1]), (p += 2);
  else if (h === 0xdd) (count = b.readUInt32BE(p)), (p += 4);
  else return false;
  const seqs = [];
  const offsets = [];
  for (let i = 0; i < count; i++) {
    const m = b[p++];
    let keys;
    if ((m & 0xf0) === 0x80) keys = m & 0x0f;
    else if (m === 0xde) (keys = (b[p] << 8) | b[p + 1]), (p += 2);
    else return false;
    let isMsg = false;
    found.seq = -1;
    found.dataAt = -1;
    for (let k = 0; k < keys; k++) {
      // Keys are short strings: type, topic, seq, kind, data, ts, client.
      const kh = b[p];
      if ((kh & 0xe0) !== 0xa0) return false;
      const klen = kh & 0x1f;
      const k0 = b[p + 1];
      const k1 = b[p + 2];
      p += 1 + klen;
      if (klen === 4 && k0 === 0x74 && k1 === 0x79) {
        // "type": must be the fixstr "msg"
        if (b[p] !== 0xa3 || b[p + 1] !== 0x6d || b[p + 2] !== 0x73 || b[p + 3] !== 0x67) return false;
        isMsg = true;
        p += 4;
      } else if (klen === 3 && k0 === 0x73 && k1 === 0x65) {
        // "seq": a positive integer
        const v = b[p];
        if (v < 0x80) (found.seq = v), (p += 1);
        else if (v === 0xcc) (found.seq = b[p + 1]), (p += 2);
        else if (v === 0xcd) (found.seq = b.readUInt16BE(p + 1)), (p += 3);
        else if (v === 0xce) (found.seq = b.readUInt32BE(p + 1)), (p += 5);
        else if (v === 0xcf) (found.seq = Number(b.readBigUInt64BE(p + 1))), (p += 9);
        else return false;
      } else if (klen === 4 && k0 === 0x64 && k1 === 0x61) {
        // "data": binary
        const v = b[p];
        if (v === 0xc4) (found.dataAt = p + 2), (p += 2 + b[p + 1]);
        else if (v === 0xc5) (found.dataAt = p + 3), (p += 3 + b.readUInt16BE(p + 1));
        else if (v === 0xc6) (found.dataAt = p + 5), (p += 5 + b.readUInt32BE(p + 1));
        else return false;
      } else {
        p = skipValue(b, p);
        if (p < 0) return false;
      }
    }
    if (!isMsg || found.seq < 0 || found.dataAt < 0) return false;
    seqs.push(found.seq);
    offsets.push(found.dataAt);
  }
  for (let i = 0; i < seqs.length; i++) deliver(seqs[i], offsets[i]);
  return true;
}

/** Position after the msgpack value at p; -1 for one this scanner does not skip. */
function skipValue(b, p) {
  const v = b[p];
  if (v < 0x80 || v >= 0xe0 || v === 0xc0 || v === 0xc2 || v === 0xc3) return p + 1;
  if ((v & 0xe0) === 0xa0) return p + 1 + (v & 0x1f);
  switch (v) {
    case 0xd9:
      return p + 2 + b[p + 1];
    case 0xda:
      return p + 3 + b.readUInt16BE(p + 1);
    case 0xdb:
      return p + 5 + b.readUInt32BE(p + 1);
    case 0xc4:
      return p + 2 + b[p + 1];
    case 0xc5:
      return p + 3 + b.readUInt16BE(p + 1);
    case 0xc6:
      return p + 5 + b.readUInt32BE(p + 1);
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    default:
      return -1; // nested array/map or extension: not in a msg's top-level fields the bench sends
  }
}
