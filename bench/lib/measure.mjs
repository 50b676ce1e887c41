/**
 * One measured run against brokers that are already up: starts the client worker
 * (lib/clients.mjs) with the publisher on one broker URL and the subscribers on another
 * (the same URL for a single-broker run), drives warm-up → measure → drain, samples each
 * broker's CPU from /proc/<pid>/stat and /metrics at the edges of the measured window,
 * and returns that run's figures. bench/fanout.mjs calls it once, or twice with --mesh.
 */
import { Worker } from 'node:worker_threads';
import { round } from './common.mjs';
import { clockTicksPerSecond, monoMs, readMachineTicks, readProcTicks, scrapeMetrics, sleep } from './system.mjs';

const CLIENTS_WORKER_URL = new URL('./clients.mjs', import.meta.url);

/**
 * brokers: [{ name, role, pid, port, url, id }] — every broker of the run (their CPU and
 * /metrics are summed). ctx: { fail(message) } from the entry; measureRun sets
 * ctx.worker while the worker lives so that fail() can terminate it.
 */
export async function measureRun({ opts, publisherUrl, subscriberUrl, brokers, ctx }) {
  let done = false;
  const worker = new Worker(CLIENTS_WORKER_URL, {
    workerData: { publisherUrl, subscriberUrl, subscribers: opts.subscribers, payload: opts.payload, rate: opts.rate, window: opts.window, burst: opts.burst, raw: opts.rawSubscribers },
  });
  ctx.worker = worker;
  const inbox = [];
  const waiters = [];
  worker.on('message', (m) => {
    if (m.type === 'error') return void ctx.fail(`client worker: ${m.message}`);
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else inbox.push(m);
  });
  worker.on('error', (err) => void ctx.fail(`client worker crashed: ${err?.stack ?? err}`));
  worker.on('exit', (code) => {
    if (!done && code !== 0) void ctx.fail(`client worker exited with code ${code}`);
  });
  const waitFor = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const i = inbox.findIndex((x) => x.type === type);
      if (i >= 0) return resolve(inbox.splice(i, 1)[0]);
      const timer = setTimeout(() => reject(new Error(`no "${type}" from the client worker within ${timeoutMs / 1000} s`)), timeoutMs);
      waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    }).catch((err) => ctx.fail(err.message));
  const scrapeAll = () => Promise.all(brokers.map((b) => scrapeMetrics(b.port)));

  const ready = await waitFor('ready', 30_000);
  const ticksPerSecond = clockTicksPerSecond();

  // ---- warm-up, then measure ------------------------------------------------------------
  worker.postMessage({ cmd: 'go' });
  await sleep(opts.warmup * 1000);

  const t0 = monoMs();
  const brokerTicks0 = brokers.map((b) => readProcTicks(b.pid));
  const machine0 = readMachineTicks();
  const selfCpu0 = process.cpuUsage();
  worker.postMessage({ cmd: 'start' });
  const metrics0 = await scrapeAll();

  await sleep(Math.max(0, opts.seconds * 1000 - (monoMs() - t0)));

  const t1 = monoMs();
  const brokerTicks1 = brokers.map((b) => readProcTicks(b.pid));
  const machine1 = readMachineTicks();
  const selfCpu1 = process.cpuUsage(selfCpu0);
  worker.postMessage({ cmd: 'end' });
  const metrics1 = await scrapeAll();

  const r = await waitFor('result', 30_000);
  done = true;
  await worker.terminate().catch(() => {});
  ctx.worker = null;

  // ---- figures -------------------------------------------------------------------------
  const elapsedS = (t1 - t0) / 1000;
  const deltaOf = (i, name) => (metrics0[i][name] === null || metrics1[i][name] === null ? null : metrics1[i][name] - metrics0[i][name]);
  /**
   * Summed over the brokers that report it (a labelled counter has no series on a broker
   * that never counted one, e.g. messages in on a broker without publishers); null if none does.
   */
  const delta = (name) => {
    const ds = brokers.map((_, i) => deltaOf(i, name)).filter((d) => d !== null);
    return ds.length === 0 ? null : ds.reduce((a, b) => a + b, 0);
  };
  const perS = (x) => (x === null ? null : x / elapsedS);
  const cpuPcts = brokers.map((_, i) => (brokerTicks0[i] === null || brokerTicks1[i] === null ? null : ((brokerTicks1[i] - brokerTicks0[i]) / ticksPerSecond / elapsedS) * 100));
  const metricsCpuPcts = brokers.map((_, i) => {
    const s = deltaOf(i, 'process_cpu_seconds_total');
    return s === null ? null : (s / elapsedS) * 100;
  });
  const brokersCpuPct = cpuPcts.some((x) => x === null) ? null : cpuPcts.reduce((a, b) => a + b, 0);
  const clientCpuPct = ((selfCpu1.user + selfCpu1.system) / 1e6 / elapsedS) * 100;
  // Whole machine, in % of one core (2 cores = 200%): what else ran beside brokers and clients.
  const machineCpuPct = machine0 === null || machine1 === null ? null : ((machine1.busy - machine0.busy) / ticksPerSecond / elapsedS) * 100;
  const stealPct = machine0 === null || machine1 === null ? null : ((machine1.steal - machine0.steal) / ticksPerSecond / elapsedS) * 100;
  const otherCpuPct = machineCpuPct === null || brokersCpuPct === null ? null : Math.max(0, machineCpuPct - brokersCpuPct - clientCpuPct);
  const single = brokers.length === 1;
  const maxOrNull = (xs) => (xs.some((x) => x === null) ? null : Math.max(...xs));
  return {
    ...(single
      ? { broker: { pid: brokers[0].pid, url: brokers[0].url, id: brokers[0].id ?? null } }
      : {
          brokers: brokers.map((b, i) => ({
            name: b.name,
            role: b.role,
            pid: b.pid,
            url: b.url,
            id: b.id ?? null,
            cpuPct: round(cpuPcts[i], 1),
            cpuPctFromMetrics: round(metricsCpuPcts[i], 1),
            // What reaches this broker from the others: the lightweight groups it is not in come as stubs.
            linkInMBPerSec: round(perS(deltaOf(i, 'chorus_cluster_link_bytes_total{direction="in"}')) === null ? null : perS(deltaOf(i, 'chorus_cluster_link_bytes_total{direction="in"}')) / 1e6, 2),
          })),
        }),
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
    // With several brokers: the busiest one (a saturated core shows there), and the sum.
    brokerCpuPct: round(single ? cpuPcts[0] : maxOrNull(cpuPcts), 1),
    brokerCpuPctFromMetrics: round(single ? metricsCpuPcts[0] : maxOrNull(metricsCpuPcts), 1),
    ...(single ? {} : { brokersCpuPctTotal: round(brokersCpuPct, 1) }),
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
}
