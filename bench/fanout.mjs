#!/usr/bin/env node
/**
 * Fan-out benchmark: 1 publisher -> N subscribers of one topic on one broker; with
 * --mesh, also across a 3-broker mesh (publisher on broker A, subscribers on broker B).
 *
 *   npm run bench                                   # 100 subscribers, 10 s, 128-byte payloads
 *   node bench/fanout.mjs --seconds 5 --rate 2000   # paced instead of flow-controlled
 *   npm run bench -- --mesh --seconds 5             # single broker, then A -> B in a mesh
 *   npm run bench -- --mesh --pairs 5 --seconds 5   # five such pairs, interleaved: the ratios' spread
 *
 * Layout (sized for a 2-core machine: the broker gets one core, the clients the other):
 *   - main thread (this file): parses the options, starts the broker(s) (lib/brokers.mjs,
 *     lib/mesh.mjs) as child processes on 127.0.0.1, has each run measured
 *     (lib/measure.mjs: phases, broker CPU from /proc/<pid>/stat, /metrics), prints the
 *     summaries, and kills every broker by PID at the end, on error, on
 *     SIGINT/SIGTERM/SIGHUP and when the watchdog fires;
 *   - one worker thread per run (lib/clients.mjs): the publisher and all N subscribers,
 *     each its own connection made with the real client library (dist/client/index.js);
 *     --raw-subscribers swaps the subscribers for bare `ws` sockets and a frame scanner
 *     (lib/raw-subscriber.mjs), a cheaper load generator.
 *
 * Files: this one owns the options and the order of things; lib/system.mjs the clock, /proc
 * and /metrics readers; lib/report.mjs the verdict, the summary and the --mesh table;
 * lib/common.mjs the topic, the dist/ paths and rounding.
 *
 * Publisher and subscribers share one thread, so the send timestamp written in the
 * payload (performance.now(), float64 LE at byte 0; the publish index at byte 8) is on
 * the same clock as the receive time, whichever broker each is connected to. Without
 * --rate the publisher keeps at most --window messages "in flight", where a message
 * stays in flight until every subscriber has received it: end-to-end flow control, so
 * neither the brokers nor their socket buffers are flooded beyond what the fan-out
 * drains. With --rate it paces to that many messages/s, still never more than --window
 * in flight.
 *
 * Every subscriber checks that topic seqs arrive consecutive: a seq at or below the
 * last one seen is a duplicate, a jump is a gap (lost messages); after the run it waits
 * for the tail and counts what never arrived as lost too.
 *
 * The last line printed is one JSON object with every figure (with --mesh: both runs).
 * Exit status: 0 ok, 1 failed to run, 2 bad arguments, 3 messages lost or duplicated.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BROKER_CLI, BrokerSet, startSingleBroker } from './lib/brokers.mjs';
import { CLIENT_URL, TOPIC, round } from './lib/common.mjs';
import { measureRun } from './lib/measure.mjs';
import { MESH_SIZE, clusterInfo, startMesh } from './lib/mesh.mjs';
import { bottleneckVerdict, cpuPerPublish, pairsSummary, printComparison, printPairs, printSummary } from './lib/report.mjs';

class UsageError extends Error {}

// --peers: the side-by-side comparison with other servers (bench/peers/run.mjs), its own options.
// --rooms: multiplayer game rooms over a 3-broker mesh (bench/rooms/run.mjs), its own options.
// --spread: 10,000 topics over 5 brokers, link bytes against what each keeps (bench/spread.mjs), its own options.
if (process.argv.slice(2).includes('--peers')) {
  const { main: peersMain } = await import('./peers/run.mjs');
  await peersMain(process.argv.slice(2).filter((a) => a !== '--peers'));
} else if (process.argv.slice(2).includes('--rooms')) {
  const { main: roomsMain } = await import('./rooms/run.mjs');
  await roomsMain(process.argv.slice(2).filter((a) => a !== '--rooms'));
} else if (process.argv.slice(2).includes('--spread')) {
  const { main: spreadMain } = await import('./spread.mjs');
  await spreadMain(process.argv.slice(2).filter((a) => a !== '--spread'));
} else {
  await main();
}

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
  --warmup S          warm-up before measuring            [default 1; 15 with --mesh]
  --raw-subscribers   subscribers speak the wire protocol over bare \`ws\` sockets and
                      scan frames for seq and data only, instead of using the client
                      library: a cheaper load generator, to find the broker's ceiling
  --mesh              also run across a ${MESH_SIZE}-broker mesh: publisher on broker A,
                      subscribers on broker B; prints both runs side by side
  --pairs N           with --mesh: N single/mesh pairs, one after the other, then the
                      ratios of every pair, their median and how many pairs met the
                      targets (on a shared machine one pair can mislead)     [default 1]
  --mesh-brokers N    brokers in that mesh (3–7; with more than 3, some keep nothing of
                      the topic's lightweight group and get its messages as stubs)  [default ${MESH_SIZE}]
  --subscribers-at W  the subscribers' broker: b1, or \`owner\` — an owner of the topic's
                      group other than the publisher's broker, so the mesh keeps two copies
                      of the topic instead of three (b1 is not an owner of the default
                      topic's group: it keeps a third copy for its subscribers)  [default b1]
  --cpu-prof-dir DIR  run the broker(s) under node --cpu-prof, profiles written to DIR
  --peers             instead: Chorus side by side with raw ws relays, NATS and Mosquitto
                      (bench/peers/; \`--peers --help\` lists its own options)
  --rooms             instead: game rooms over a 3-broker mesh (bench/rooms/; \`--rooms --help\`)
  --spread            instead: many topics over a mesh, link bytes per broker against what it
                      keeps (bench/spread.mjs; \`--spread --help\`)
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
      warmup: { type: 'string' },
      'raw-subscribers': { type: 'boolean', default: false },
      mesh: { type: 'boolean', default: false },
      'mesh-brokers': { type: 'string', default: String(MESH_SIZE) },
      'subscribers-at': { type: 'string', default: 'b1' },
      pairs: { type: 'string', default: '1' },
      'cpu-prof-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  const usageError = (message) => {
    throw new UsageError(message);
  };
  const num = (name, { int = false, min = 0, max = Infinity } = {}) => {
    const raw = values[name];
    const n = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
      throw new UsageError(`--${name}: ${JSON.stringify(raw)} is not ${int ? 'a whole number' : 'a number'} in [${min}, ${max}]`);
    }
    return n;
  };
  const subscribersAt = (at, mesh) => {
    if (at !== 'b1' && at !== 'owner') usageError(`--subscribers-at: ${JSON.stringify(at)} is not b1 or owner`);
    if (at !== 'b1' && !mesh) usageError('--subscribers-at needs --mesh');
    return at;
  };
  return {
    subscribers: num('subscribers', { int: true, min: 1, max: 10_000 }),
    seconds: num('seconds', { min: 0.1, max: 3600 }),
    payload: num('payload', { int: true, min: 16, max: 1_000_000 }),
    rate: values.rate === undefined ? null : num('rate', { min: 1, max: 10_000_000 }),
    window: num('window', { int: true, min: 1, max: 1_000_000 }),
    burst: values.burst === undefined ? null : num('burst', { int: true, min: 1, max: 1_000_000 }),
    // A mesh's brokers take 15–25 s of load before V8 has compiled their hot code (--trace-opt:
    // optimisations go on that long, three brokers and the load generator sharing the cores); a
    // second is enough for one broker. Both runs of a comparison warm up alike.
    warmup: values.warmup === undefined ? (values.mesh ? 15 : 1) : num('warmup', { min: 0, max: 600 }),
    rawSubscribers: values['raw-subscribers'],
    mesh: values.mesh,
    meshBrokers: num('mesh-brokers', { int: true, min: 3, max: 7 }),
    subscribersAt: subscribersAt(values['subscribers-at'], values.mesh),
    pairs: num('pairs', { int: true, min: 1, max: 20 }) !== 1 && !values.mesh ? usageError('--pairs needs --mesh') : num('pairs', { int: true, min: 1, max: 20 }),
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
  let finished = false;
  // ctx.worker: the client worker of the run in progress (lib/measure.mjs sets it).
  const ctx = { worker: null, fail: (message, code) => fail(message, code) };
  const brokers = new BrokerSet((b, code, signal) => void fail(`broker ${b.name} (pid ${b.pid}) exited during the run (code ${code}, signal ${signal})`));
  const fail = async (message, code = 1) => {
    if (finished) return;
    finished = true;
    process.stderr.write(`fanout: ${message}\n`);
    const tails = brokers.stderrReport();
    if (tails !== '') process.stderr.write(`${tails}\n`);
    await ctx.worker?.terminate().catch(() => {});
    brokers.killAllNow();
    process.exit(code);
  };
  process.on('exit', () => brokers.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (!finished) return void fail(`interrupted by ${signal}`, 130);
      brokers.killAllNow();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => void fail(`uncaught: ${err?.stack ?? err}`));
  process.on('unhandledRejection', (err) => void fail(`unhandled rejection: ${err?.stack ?? err}`));

  // Everything — start-up, warm-up, measurement, drain, shutdown — is bounded.
  const runs = opts.mesh ? 2 * opts.pairs : 1;
  const watchdogMs = runs * ((opts.warmup + opts.seconds) * 1000 + 90_000);
  const watchdog = setTimeout(() => void fail(`watchdog: the run took longer than ${Math.round(watchdogMs / 1000)} s`), watchdogMs);

  // Every in-flight message sits in every subscriber's outbound queue at worst: keep the
  // window under half the broker's per-connection limit (8 MiB) so nobody is cut as slow.
  const windowCap = Math.max(1, Math.floor((4 * 1024 * 1024) / (opts.payload + 128)));
  if (opts.window > windowCap) {
    process.stderr.write(`fanout: --window ${opts.window} lowered to ${windowCap} (${opts.payload}-byte payloads; in-flight bytes stay under 4 MiB per subscriber)\n`);
    opts.window = windowCap;
  }
  opts.burst = Math.min(opts.burst ?? Math.ceil(opts.window / 4), opts.window);

  const header = {
    bench: opts.mesh ? 'chorus-fanout-mesh' : 'chorus-fanout',
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
      ...(opts.mesh ? { meshBrokers: opts.meshBrokers, subscribersAt: opts.subscribersAt } : {}),
    },
  };
  const withVerdict = (run) => ({ ...run, bottleneck: bottleneckVerdict({ ...header, ...run }, opts.rate) });

  // ---- single broker only ----------------------------------------------------------------------
  if (!opts.mesh) {
    const single = await runSingle();
    finished = true;
    clearTimeout(watchdog);
    const figures = { ...header, ...single };
    printSummary(figures);
    process.stdout.write(JSON.stringify(figures) + '\n');
    process.exit(figures.lost > 0 || figures.duplicated > 0 ? 3 : 0);
  }

  // ---- --mesh: each pair is a single-broker run, then a mesh run of the same load ----------------
  const pairs = [];
  for (let i = 1; i <= opts.pairs; i++) {
    const of = opts.pairs === 1 ? '' : `pair ${i} of ${opts.pairs}, `;
    const single = await runSingle();
    printSummary({ ...header, ...single }, `Chorus fan-out benchmark, ${of}run 1 of 2: single broker`);
    const mesh = await runMesh();
    printSummary({ ...header, ...mesh }, `Chorus fan-out benchmark, ${of}run 2 of 2: ${opts.meshBrokers}-broker mesh`);
    printComparison(header, single, mesh);
    pairs.push({ single, mesh, meshVsSingle: meshVsSingle(single, mesh) });
  }
  finished = true;
  clearTimeout(watchdog);
  const bad = pairs.some((p) => [p.single, p.mesh].some((f) => f.lost > 0 || f.duplicated > 0));
  if (opts.pairs === 1) {
    process.stdout.write(JSON.stringify({ ...header, ...pairs[0] }) + '\n');
  } else {
    const summary = pairsSummary(pairs);
    printPairs(header, pairs, summary);
    process.stdout.write(JSON.stringify({ ...header, pairs, summary }) + '\n');
  }
  process.exit(bad ? 3 : 0);

  /** Publisher and subscribers on one broker. */
  async function runSingle() {
    const broker = await startSingleBroker(brokers, opts).catch((err) => fail(`cannot start the broker: ${err.message}`));
    const single = withVerdict(await measureRun({ opts, publisherUrl: broker.url, subscriberUrl: broker.url, brokers: [broker], ctx }));
    await brokers.stop([broker]);
    return single;
  }

  /** Publisher on broker A, subscribers on broker B of a mesh. */
  async function runMesh() {
    const cluster = await startMesh(brokers, opts).catch((err) => fail(`cannot start the mesh: ${err.message}`));
    const a = cluster.brokers[0];
    let b = cluster.brokers[1];
    if (opts.subscribersAt === 'owner') {
      const owns = (x) => cluster.topicOwners.some((id) => typeof id === 'string' && id.startsWith(`${x.name}#`));
      b = cluster.brokers.find((x) => x !== a && owns(x)) ?? (await fail(`no owner of the topic's group besides ${a.name} (owners: ${cluster.topicOwners.join(', ')})`));
      for (const x of cluster.brokers) x.role = x === a ? 'publisher' : x === b ? 'subscribers' : 'relay';
    }
    const meshRun = await measureRun({ opts, publisherUrl: a.url, subscriberUrl: b.url, brokers: cluster.brokers, ctx });
    const after = await clusterInfo(a);
    await brokers.stop(cluster.brokers);
    return withVerdict({
      ...meshRun,
      cluster: {
        formMs: cluster.formMs,
        view: cluster.brokers[0].view,
        coordinator: cluster.coordinator,
        topicStream: cluster.topicStream,
        topicSequencer: cluster.topicSequencer,
        topicSequencerAfter: after.topicSequencer,
        topicOwners: cluster.topicOwners,
        topicOwnersAfter: after.topicOwners,
      },
    });
  }
}

/** The mesh's figures relative to the single broker's in one pair. */
function meshVsSingle(single, mesh) {
  const ratio = (m, s) => (m === null || s === null || s === 0 ? null : round(m / s, 3));
  return {
    deliveredPerSec: ratio(mesh.deliveredPerSec, single.deliveredPerSec),
    latencyP50: ratio(mesh.latencyMs.p50, single.latencyMs.p50),
    latencyP99: ratio(mesh.latencyMs.p99, single.latencyMs.p99),
    cpuPerPublishUs: cpuPerPublish(single, mesh),
  };
}
