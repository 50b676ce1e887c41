/**
 * `npm run bench -- --spread` (bench/fanout.mjs hands over here): many topics over a mesh, to
 * show that each broker's incoming link bytes follow the publishes it keeps.
 *
 *   npm run bench -- --spread                                  # 10,000 topics, 40,000 publishes, 5 brokers
 *   npm run bench -- --spread --brokers 7 --replicas 3 --payload 1024
 *
 *   1. start --brokers brokers (lib/mesh.mjs; --replicas reaches them as CHORUS_LWG_REPLICAS, the
 *      env form of --lwg-replicas), wait for a full view and for every lightweight group to be
 *      held, ready, by exactly its owners (GET /api/v1/cluster);
 *   2. measure each broker's idle link traffic (heartbeats) over 2 s, scrape /metrics;
 *   3. one publisher per broker (the real client library): publish k goes to broker k mod N, on a
 *      topic drawn uniformly from --topics with a fixed seed, paced at --rate, at most --in-flight
 *      unanswered per connection; only acknowledged publishes count, refusals are reported;
 *   4. wait (bounded poll) until every broker's link counters are back to their idle pace, scrape
 *      again: per broker, link bytes in and stubs received over the run;
 *   5. from the group table and lwgOf: what each broker keeps (publishes on its groups' topics);
 *      fit bytesIn − idle = a·kept + b·notKept over the brokers (least squares): a is what a kept
 *      publish costs a broker's links, b what one it does not keep costs (its ordering stub);
 *   6. stop the brokers by PID (also on error, signal, watchdog), print a table and one JSON line,
 *      write bench/results/spread-<date>[-N].json and .md (never overwritten).
 *
 * Exit status: 0 ok, 1 failed, 2 bad arguments, 3 publishes refused or unanswered, or the group
 * table changed during the run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BROKER_CLI, BrokerSet } from './lib/brokers.mjs';
import { CLIENT_URL, round } from './lib/common.mjs';
import { startMesh } from './lib/mesh.mjs';
import { clockTicksPerSecond, monoMs, readMachineTicks, readProcTicks, scrapeMetrics, sleep } from './lib/system.mjs';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const LWG_URL = new URL('../dist/lightweight-groups/index.js', import.meta.url);
const TICKS = clockTicksPerSecond();
const LINK_IN = 'chorus_cluster_link_bytes_total{direction="in"}';
class UsageError extends Error {}

export function usage() {
  return `Usage: npm run bench -- --spread [options]

  --topics N          topics the publishes spread over                      [default 10000]
  --publishes N       publishes in all (over every broker)                   [default 40000]
  --payload BYTES     payload of each publish                                [default 256]
  --rate N            publishes/s in all, paced                              [default 4000]
  --brokers N         brokers in the mesh (3–7)                              [default 5]
  --replicas R        owners per lightweight group (the brokers' --lwg-replicas; default: theirs)
  --in-flight N       most unanswered publishes per connection               [default 200]
  --seed N            seed of the topic draw and the payload bytes           [default 1]
  --seconds-max S     watchdog: the whole run, start-up to shutdown          [default 120]
  --out-dir DIR       where the .json and .md go                             [default bench/results]
  --help`;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: Object.fromEntries([
      ['topics', '10000'], ['publishes', '40000'], ['payload', '256'], ['rate', '4000'], ['brokers', '5'], ['replicas'],
      ['in-flight', '200'], ['seed', '1'], ['seconds-max', '120'], ['out-dir'],
    ].map(([k, d]) => [k, d === undefined ? { type: 'string' } : { type: 'string', default: d }]).concat([['help', { type: 'boolean', default: false }]])),
  });
  if (values.help) return { help: true };
  const num = (name, min, max, int = true) => {
    const raw = values[name];
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
      throw new UsageError(`--${name}: ${JSON.stringify(raw)} is not ${int ? 'a whole number' : 'a number'} in [${min}, ${max}]`);
    }
    return n;
  };
  const brokers = num('brokers', 3, 7);
  return {
    topics: num('topics', 1, 1_000_000), publishes: num('publishes', 1, 10_000_000), payload: num('payload', 1, 1_000_000),
    rate: num('rate', 1, 1_000_000, false), brokers, replicas: values.replicas === undefined ? null : num('replicas', 1, brokers),
    inFlight: num('in-flight', 1, 100_000), seed: num('seed', 0, 2 ** 32 - 1), secondsMax: num('seconds-max', 60, 3600, false),
    outDir: values['out-dir'] === undefined ? null : resolve(values['out-dir']),
  };
}

/** mulberry32: a small seeded PRNG, floats in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const getJson = async (port, path) => (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) })).json();

/** The link-in bytes (lib/system.mjs) plus link-out, stubs and filtered commands of one broker. */
async function scrape(broker) {
  const base = await scrapeMetrics(broker.port);
  const more = { out: 'chorus_cluster_link_bytes_total{direction="out"}', stubs: 'chorus_lwg_stubs_total', filtered: 'chorus_lwg_filtered_total', retransmitted: 'chorus_core_retransmissions_total', snapshotBytesLoaded: 'chorus_lwg_snapshot_bytes_total{direction="loaded"}' };
  const got = Object.fromEntries(Object.keys(more).map((k) => [k, null]));
  const text = await (await fetch(`http://127.0.0.1:${broker.port}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  for (const line of text.split('\n')) for (const [k, name] of Object.entries(more)) if (line.startsWith(`${name} `)) got[k] = Number(line.slice(name.length + 1));
  return { t: monoMs(), in: base[LINK_IN], ...got };
}
const scrapeAll = (brokers) => Promise.all(brokers.map(scrape));

/** Bounded poll until every group is held, ready, by exactly its owners and nobody else. */
async function waitTable(broker, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const info = await getJson(broker.port, '/api/v1/cluster').catch(() => null);
    const same = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
    const settled = (g) => same(g.owners, g.holders.map((h) => h.broker)) && g.holders.every((h) => h.ready) && same(g.owners, g.members);
    if (info?.ready && info.lwgs?.length > 0 && info.lwgs.every(settled)) return info;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the group table did not settle within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** Least squares y ≈ a·x1 + b·x2 (no intercept); null when x1 and x2 are too close to collinear. */
function fit2(x1, x2, y) {
  const dot = (u, v) => u.reduce((s, ui, i) => s + ui * v[i], 0);
  const [s11, s12, s22, s1y, s2y] = [dot(x1, x1), dot(x1, x2), dot(x2, x2), dot(x1, y), dot(x2, y)];
  const det = s11 * s22 - s12 * s12;
  const conditioning = s11 * s22 === 0 ? 0 : det / (s11 * s22); // 1 − cos² of the angle between x1 and x2
  if (conditioning < 1e-4) return { a: null, b: null, conditioning };
  const a = (s1y * s22 - s2y * s12) / det;
  const b = (s2y * s11 - s1y * s12) / det;
  return { a, b, conditioning, residualPct: x1.map((_, i) => (y[i] === 0 ? null : round((100 * (y[i] - a * x1[i] - b * x2[i])) / y[i], 1))) };
}

export async function main(argv) {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError) && err?.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && err?.code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw err;
    process.stderr.write(`spread: ${err.message}\n\n${usage()}\n`);
    process.exit(2);
  }
  if (opts.help) return void (process.stdout.write(usage() + '\n'), process.exit(0));
  if (![BROKER_CLI, fileURLToPath(CLIENT_URL), fileURLToPath(LWG_URL)].every(existsSync)) {
    process.stderr.write('spread: dist/ is missing; run `npm run build` first\n');
    process.exit(1);
  }
  const log = (line) => process.stderr.write(`spread: ${line}\n`);
  const startedAt = new Date();
  const t0 = monoMs();
  let finished = false;
  const clients = [];
  const set = new BrokerSet((b, code, signal) => void fail(`broker ${b.name} (pid ${b.pid}) exited during the run (code ${code}, signal ${signal})`));
  const fail = (message, code = 1) => {
    if (finished) return;
    finished = true;
    log(`FAILED: ${message}`);
    if (set.stderrReport() !== '') process.stderr.write(`${set.stderrReport()}\n`);
    set.killAllNow();
    process.exit(code);
  };
  process.on('exit', () => set.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (!finished) return void fail(`interrupted by ${signal}`, 130);
      set.killAllNow();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => void fail(`uncaught: ${err?.stack ?? err}`));
  process.on('unhandledRejection', (err) => void fail(`unhandled rejection: ${err?.stack ?? err}`));
  const watchdog = setTimeout(() => void fail(`watchdog: the run took longer than ${opts.secondsMax} s`), opts.secondsMax * 1000);

  // ---- 1. the mesh and its group table ------------------------------------------------------------
  if (opts.replicas !== null) process.env.CHORUS_LWG_REPLICAS = String(opts.replicas);
  log(`starting ${opts.brokers} brokers …`);
  const mesh = await startMesh(set, { meshBrokers: opts.brokers, payload: opts.payload, cpuProfDir: null }).catch((err) => fail(`cannot start the mesh: ${err.message}`));
  const brokers = mesh.brokers;
  log(`mesh formed in ${mesh.formMs} ms; broker PIDs: ${brokers.map((b) => `${b.name}=${b.pid}`).join(' ')}`);
  const table = await waitTable(brokers[0], 30_000).catch((err) => fail(err.message));
  for (const b of brokers) {
    const info = await getJson(b.port, '/api/v1/cluster').catch((err) => fail(`GET /api/v1/cluster on ${b.name}: ${err.message}`));
    if (info.view?.id !== table.view.id) fail(`${b.name} is in view ${info.view?.id}, ${brokers[0].name} in ${table.view.id}`);
    b.memberId = info.broker;
  }
  const lwgCount = table.lwgs.length;
  const { lwgOf } = await import(LWG_URL.href);
  const topics = Array.from({ length: opts.topics }, (_, i) => `spread.t${i}`);
  const topicLwg = topics.map((t) => lwgOf(t, lwgCount));

  // ---- 2. idle pace and the first scrape -------------------------------------------------------------
  const idle0 = await scrapeAll(brokers);
  await sleep(2000);
  const before = await scrapeAll(brokers);
  const idleInPerS = before.map((s, i) => ((s.in - idle0[i].in) * 1000) / (s.t - idle0[i].t));

  // ---- 3. publish -------------------------------------------------------------------------------------
  const { connect } = await import(CLIENT_URL.href);
  for (const [i, b] of brokers.entries()) {
    const client = await connect(b.url, { clientId: `spread-pub-${i}` }).catch((err) => fail(`cannot connect to ${b.name}: ${err.message}`));
    client.on('error', () => {});
    clients.push(client);
  }
  const random = rng(opts.seed);
  const data = Uint8Array.from({ length: opts.payload }, () => Math.floor(random() * 256));
  const ackedPerLwg = new Array(lwgCount).fill(0);
  const inFlight = new Array(brokers.length).fill(0);
  const refusedBy = {};
  let issued = 0, acked = 0, refused = 0, firstRefusal = null, stalls = 0;
  const ackMs = [];
  const deadline = t0 + opts.secondsMax * 1000 - 40_000; // leaves the settle, the stop and the report inside the watchdog
  log(`publishing ${opts.publishes} × ${opts.payload} B on ${opts.topics} topics (${lwgCount} groups) at ${opts.rate}/s …`);
  const tPub = monoMs();
  const ticks0 = brokers.map((b) => readProcTicks(b.pid));
  const ownCpu0 = process.cpuUsage();
  const machine0 = readMachineTicks();
  await new Promise((done) => {
    const pump = () => {
      const due = monoMs() > deadline ? issued : Math.min(opts.publishes, Math.floor(((monoMs() - tPub) * opts.rate) / 1000));
      while (issued < due) {
        const c = issued % brokers.length;
        if (inFlight[c] >= opts.inFlight) { stalls++; break; } // strict round robin: wait for this connection
        const ti = Math.floor(random() * opts.topics), lwg = topicLwg[ti];
        issued++;
        inFlight[c]++;
        const sentAt = monoMs();
        clients[c].publish(topics[ti], data).then(
          () => (acked++, ackedPerLwg[lwg]++, ackMs.push(monoMs() - sentAt)),
          (err) => (refused++, (refusedBy[err?.code ?? '?'] = (refusedBy[err?.code ?? '?'] ?? 0) + 1), (firstRefusal ??= String(err?.message ?? err))),
        ).finally(() => inFlight[c]--);
      }
      const stop = (issued === opts.publishes || monoMs() > deadline) && inFlight.every((n) => n === 0);
      if (stop || monoMs() > deadline + 15_000) return void (clearInterval(timer), done());
    };
    const timer = setInterval(pump, 5);
  });
  const publishS = (monoMs() - tPub) / 1000;
  const cpuPct = brokers.map((b, i) => round((100 * (readProcTicks(b.pid) - ticks0[i])) / TICKS / publishS, 0));
  const ownCpu = process.cpuUsage(ownCpu0);
  const generatorCpuPct = round((ownCpu.user + ownCpu.system) / 1e4 / publishS, 0);
  const machine1 = readMachineTicks();
  // CPU of everything else on the machine while publishing, in % of one core: other work skews the figures (timeouts, retransmissions).
  const othersCpuPct = machine0 === null || machine1 === null ? null
    : round((100 * (machine1.busy - machine0.busy)) / TICKS / publishS - cpuPct.reduce((a, b) => a + (b ?? 0), 0) - generatorCpuPct, 0);
  ackMs.sort((x, y) => x - y);
  const pct = (q) => (ackMs.length === 0 ? null : round(ackMs[Math.min(ackMs.length - 1, Math.floor(q * ackMs.length))], 1));
  const unanswered = inFlight.reduce((a, b) => a + b, 0);
  log(`${acked} acknowledged, ${refused} refused, ${unanswered} unanswered in ${round(publishS, 1)} s`);

  // ---- 4. settle: bounded poll until every broker's link-in is back to its idle pace ------------------
  const tSettle = monoMs();
  let last = await scrapeAll(brokers);
  let quietPolls = 0;
  while (quietPolls < 2 && monoMs() - tSettle < 15_000) {
    await sleep(500);
    const now = await scrapeAll(brokers);
    const quiet = now.every((s, i) => s.in - last[i].in <= Math.max((3 * idleInPerS[i] * (s.t - last[i].t)) / 1000, 2048));
    quietPolls = quiet ? quietPolls + 1 : 0;
    last = now;
  }
  const settled = quietPolls >= 2;
  const settleMs = Math.round(monoMs() - tSettle);
  if (!settled) log(`link counters still moving after ${settleMs} ms: figures taken anyway`);
  const after = last;
  const tableAfter = await getJson(brokers[0].port, '/api/v1/cluster').catch(() => null);
  const key = (t) => JSON.stringify([t?.view?.id, t?.lwgs?.map((g) => [g.owners, g.members])]);
  const tableChanged = key(tableAfter) !== key(table);

  // ---- 5. stop everything by PID -----------------------------------------------------------------------
  await Promise.all(clients.map((c) => Promise.race([c.close().catch(() => {}), sleep(3000)])));
  await set.stop(brokers);
  finished = true;
  clearTimeout(watchdog);
  const leftBehind = brokers.filter((b) => { try { process.kill(b.pid, 0); return true; } catch { return false; } }).map((b) => b.pid);

  // ---- 6. figures ---------------------------------------------------------------------------------------
  const rows = brokers.map((b, i) => {
    const owned = table.lwgs.filter((g) => g.owners.includes(b.memberId));
    const kept = table.lwgs.filter((g) => g.members.includes(b.memberId)).reduce((s, g) => s + ackedPerLwg[g.lwg], 0);
    const seconds = (after[i].t - before[i].t) / 1000;
    const bytesIn = after[i].in - before[i].in;
    const idleBytes = Math.round(idleInPerS[i] * seconds);
    return {
      name: b.name, pid: b.pid, memberId: b.memberId, groupsOwned: owned.length, groupsSequenced: table.lwgs.filter((g) => g.sequencer === b.memberId).length,
      kept, notKept: acked - kept, bytesIn, idleBytes, bytesInPerKept: kept === 0 ? null : round(bytesIn / kept, 1),
      cpuPctPublishing: cpuPct[i], stubs: after[i].stubs - before[i].stubs, filtered: after[i].filtered - before[i].filtered, retransmitted: after[i].retransmitted - before[i].retransmitted, bytesOut: after[i].out - before[i].out, snapshotBytesLoaded: after[i].snapshotBytesLoaded - before[i].snapshotBytesLoaded,
    };
  });
  const perKept = rows.map((r) => r.bytesInPerKept).filter((x) => x !== null);
  const spread = perKept.length === 0 ? null : round(Math.max(...perKept) / Math.min(...perKept), 2);
  const f = fit2(rows.map((r) => r.kept), rows.map((r) => r.notKept), rows.map((r) => r.bytesIn - r.idleBytes));
  rows.forEach((r, i) => (r.fitResidualPct = f.residualPct?.[i] ?? null));
  const git = (...args) => { try { return execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } };
  const dirty = git('status', '--porcelain', '--', 'broker', 'client', 'lightweight-groups');
  const record = {
    bench: 'chorus-spread', date: startedAt.toISOString().slice(0, 10), startedAt: startedAt.toISOString(),
    command: ['npm run bench -- --spread', ...argv].join(' '), node: process.version, commit: git('rev-parse', '--short', 'HEAD'),
    dirty: dirty ? `uncommitted changes under broker/, client/ or lightweight-groups/ (${dirty.split('\n').length} files); dist/ as last built` : null,
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, os: `${os.type()} ${os.release()}` },
    options: opts, lwgCount, replicas: table.replicas, view: table.view, formMs: mesh.formMs,
    publishes: { issued, acked, refused, refusedBy, firstRefusal, unanswered, stalls, seconds: round(publishS, 2), perSec: round(acked / publishS, 0), ackMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) }, generatorCpuPct, othersCpuPct },
    settle: { settled, ms: settleMs }, tableChanged, viewAfter: tableAfter?.view ?? null, brokers: rows, spreadBytesPerKept: spread,
    fit: { aBytesPerKept: round(f.a, 1), bBytesPerNotKept: round(f.b, 1), conditioning: round(f.conditioning, 4) },
    durationS: round((monoMs() - t0) / 1000, 1), leftBehind,
  };
  const n = (x) => (x === null || x === undefined ? '–' : x.toLocaleString('en-US'));
  const L = [`# Chorus spread: ${n(opts.topics)} topics over ${opts.brokers} brokers — ${record.date}`, ''];
  L.push(`\`${record.command}\` — commit ${record.commit}${record.dirty ? ` (${record.dirty})` : ''}, Node ${record.node}, ${record.machine.cpu} × ${record.machine.cores} cores.`, '');
  L.push(`${n(lwgCount)} groups, ${record.replicas} owners each; ${n(acked)} of ${n(opts.publishes)} publishes acknowledged (${opts.payload} B, ${n(record.publishes.perSec)}/s of ${n(opts.rate)}/s asked, over ${record.publishes.seconds} s; ${n(refused)} refused, ${n(unanswered)} unanswered; acknowledged in p50 ${record.publishes.ackMs.p50} ms, p99 ${record.publishes.ackMs.p99} ms, with at most ${opts.inFlight} in flight per connection; this process ${generatorCpuPct}% CPU, other processes ${othersCpuPct ?? '–'}%); link counters ${settled ? 'settled' : 'NOT settled'} after ${settleMs} ms.`, '');
  L.push('| broker | groups owned | sequenced | publishes kept | not kept | link bytes in | of which idle | bytes in per kept publish | stubs received | core retransmissions | fit residual | CPU publishing |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) L.push(`| ${r.name} | ${r.groupsOwned} | ${r.groupsSequenced} | ${n(r.kept)} | ${n(r.notKept)} | ${n(r.bytesIn)} | ${n(r.idleBytes)} | ${n(r.bytesInPerKept)} | ${n(r.stubs)} | ${n(r.retransmitted)} | ${r.fitResidualPct === null ? '–' : `${r.fitResidualPct}%`} | ${r.cpuPctPublishing ?? '–'}% |`);
  L.push('');
  L.push(`Total ${n(acked)} publishes; bytes in per kept publish spread (max/min) ${spread ?? '–'}; fit of (bytes in − idle) = a·kept + b·not kept: a = ${n(record.fit.aBytesPerKept)} B per kept publish, b = ${n(record.fit.bBytesPerNotKept)} B per publish not kept (conditioning ${record.fit.conditioning}${f.a === null ? ': kept and not kept too alike across brokers to separate' : ''}).`);
  if (issued < opts.publishes) L.push('', `**Publishing stopped at the deadline** (40 s before --seconds-max) after ${n(issued)} of ${n(opts.publishes)} publishes.`);
  if (tableChanged) L.push('', `**The group table changed during the run** (view ${table.view.id} → ${tableAfter?.view?.id ?? '?'}: ${(tableAfter?.view?.members ?? []).join(', ')}; snapshot bytes loaded ${rows.map((r) => `${r.name} ${n(r.snapshotBytesLoaded)}`).join(', ')}): the kept counts use the table from before it.`);
  if (leftBehind.length > 0) L.push('', `**Broker PIDs still alive after the stop**: ${leftBehind.join(', ')}.`);
  const markdown = L.join('\n');
  const dir = opts.outDir ?? join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  let files = null;
  for (let i = 1; i < 1000 && files === null; i++) {
    const base = join(dir, `spread-${record.date}${i === 1 ? '' : `-${i}`}`);
    if (existsSync(`${base}.json`) || existsSync(`${base}.md`)) continue;
    writeFileSync(`${base}.json`, JSON.stringify(record, null, 2) + '\n', { flag: 'wx' });
    writeFileSync(`${base}.md`, markdown + '\n', { flag: 'wx' });
    files = { json: `${base}.json`, md: `${base}.md` };
  }
  process.stdout.write(`\n${markdown}\n\n`);
  process.stdout.write(JSON.stringify({ ...record, files }) + '\n');
  process.exit(issued < opts.publishes || refused > 0 || unanswered > 0 || tableChanged || leftBehind.length > 0 ? 3 : 0);
}
