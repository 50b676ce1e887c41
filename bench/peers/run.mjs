/**
 * `npm run bench -- --peers` (bench/fanout.mjs hands over here): the same four workloads
 * against several servers on this machine, one fresh server per run, and one report.
 *
 *   peers.mjs      the peers (server + adapter) and which can run here
 *   servers.mjs    starting each server pinned to core 0, stopping, RSS, versions
 *   runner.mjs     one run: server, load generator on core 1, phases, CPU, watchdog
 *   generator.mjs  the load generator process; workloads.mjs and flow.mjs its loops
 *   adapters/      one small client module per protocol, one interface
 *   report.mjs     the markdown tables; options.mjs the flags
 *
 * Writes bench/results/peers-<YYYY-MM-DD>.json and .md (a -2, -3 … suffix when that name
 * is taken: earlier results are never overwritten). Every child process is killed by PID
 * at the end, on error and on SIGINT/SIGTERM/SIGHUP. Exit status: 0 ok, 1 a run failed,
 * 2 bad arguments, 3 a run lost messages or saw seq gaps or duplicates.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, parseOptions, usage } from './options.mjs';
import { PEERS, choosePeers } from './peers.mjs';
import { renderMarkdown } from './report.mjs';
import { runOne, workloadParams } from './runner.mjs';
import { Procs, pinningAvailable, serverVersions } from './servers.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export async function main(argv) {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`peers: ${err.message}\n\n${usage()}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  const { run: peers, skipped } = choosePeers(opts.only);
  const noDist = skipped.find((s) => PEERS.find((p) => p.name === s.peer)?.server === 'chorus');
  if (noDist !== undefined) {
    process.stderr.write(`peers: ${noDist.reason}\n`);
    process.exit(1);
  }

  const pinned = pinningAvailable(opts.pin);
  const procs = new Procs(pinned, opts.cpuProfDir);
  if (opts.cpuProfDir !== null) mkdirSync(opts.cpuProfDir, { recursive: true });
  const log = (line) => process.stderr.write(`${line}\n`);
  process.on('exit', () => procs.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      log(`peers: interrupted by ${signal}; stopping every child process`);
      procs.killAllNow();
      process.exit(130);
    });
  }
  const die = (what) => (err) => {
    log(`peers: ${what}: ${err?.stack ?? err}`);
    procs.killAllNow();
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaught'));
  process.on('unhandledRejection', die('unhandled rejection'));

  const started = new Date();
  const header = describe(opts, pinned, skipped, started, argv);
  for (const s of skipped) log(`peers: skipping ${s.peer}: ${s.reason}`);
  if (!pinned) log('peers: not pinning to cores (taskset missing, fewer than 2 cores, or --no-pin)');

  const distBefore = distStamp();
  const records = [];
  const total = peers.length * opts.workloads.length;
  for (const peer of peers) {
    for (const workload of opts.workloads) {
      log(`peers: [${records.length + 1}/${total}] ${peer.name} ${workload} …`);
      records.push(await runWithRetries(peer, workload, opts, procs, log));
    }
  }
  header.durationS = (Date.now() - started.getTime()) / 1000;
  header.versions.distBuiltAt = distBefore;
  if (distStamp() !== distBefore) {
    header.versions.distChanged = true;
    log('peers: dist/ was rebuilt during the run: the Chorus rows may mix two builds');
  }

  const { json, md } = outputPaths(opts.outDir, header.date);
  const document = { bench: 'chorus-peers', ...header, runs: records };
  const markdown = renderMarkdown(header, records, PEERS);
  writeFileSync(json, JSON.stringify(document, null, 2) + '\n');
  writeFileSync(md, markdown);
  process.stdout.write(markdown + '\n');
  process.stdout.write(JSON.stringify({ json, md, runs: records.length, failed: records.filter((r) => !r.ok).length }) + '\n');

  const failed = records.some((r) => !r.ok);
  const incomplete = records.some((r) => r.ok && ((r.deliveryRatio !== undefined && r.deliveryRatio !== null && r.deliveryRatio < 1) || r.gaps > 0 || r.duplicates > 0));
  process.exit(failed ? 1 : incomplete ? 3 : 0);
}

/** Other processes used this much of a core during a run (% of one core): it is run again. */
const DISTURBED_PCT = 25;

/**
 * A run, and again (at most opts.retries more times) while other processes used a quarter
 * of a core or more during it; keeps the least disturbed attempt and lists them all.
 */
async function runWithRetries(peer, workload, opts, procs, log) {
  let best = null;
  const attempts = [];
  for (let i = 0; i <= opts.retries; i++) {
    const record = await runOne({ peer, workload, opts, procs, log });
    const otherPct = record.cpu?.otherPct ?? null;
    attempts.push({ ok: record.ok, otherPct, ...(record.ok ? {} : { error: record.error }) });
    if (record.ok) log(`  ${oneLine(record)}`);
    if (best === null || (record.ok && (!best.ok || (otherPct ?? 0) < (best.cpu?.otherPct ?? 0)))) best = record;
    if (!record.ok || otherPct === null || otherPct < DISTURBED_PCT) break;
    if (i < opts.retries) log(`  disturbed: other processes used ${otherPct}% of a core during the run; again`);
  }
  best.attempts = attempts;
  return best;
}

function oneLine(r) {
  const c = r.cpu === undefined ? '' : ` cpu ${r.cpu.serverPct}/${r.cpu.generatorPct}%`;
  if (r.workload === 'W4') return `opened ${r.opened}/${r.connections} in ${r.openSeconds} s, ${r.rssPerConnKiB} KiB/conn${c}`;
  if (r.workload === 'W3') return `p50 ${r.latencyMs?.p50} p99 ${r.latencyMs?.p99} p99.9 ${r.latencyMs?.p999} ms, ratio ${r.deliveryRatio}${c}`;
  return `delivered ${r.deliveredPerSec}/s, published ${r.publishedPerSec}/s, ratio ${r.deliveryRatio}, gaps ${r.gaps}, dups ${r.duplicates}${c}`;
}

/** Machine, versions, options: the header of both files. */
function describe(opts, pinned, skipped, started, argv) {
  const git = (...args) => {
    try {
      return execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const dirtyFiles = git('status', '--porcelain', '--', 'broker', 'client');
  const pkgVersion = (file) => {
    try {
      return JSON.parse(readFileSync(join(REPO, file), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const { workloads, only, ...rest } = opts;
  return {
    date: started.toISOString().slice(0, 10),
    startedAt: started.toISOString(),
    command: ['npm run bench -- --peers', ...argv].join(' '),
    pinned,
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, os: `${os.type()} ${os.release()}`, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    node: process.version,
    versions: {
      chorus: pkgVersion('package.json'),
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: dirtyFiles ? `uncommitted changes under broker/ or client/: ${dirtyFiles.split('\n').length} files; dist/ as last built` : null,
      ws: pkgVersion('node_modules/ws/package.json'),
      msgpackr: pkgVersion('node_modules/msgpackr/package.json'),
      ...serverVersions(),
    },
    options: { workloads, only, ...rest },
    workloadParams: Object.fromEntries(workloads.map((w) => [w, workloadParams(w, opts)])),
    skipped,
  };
}

/** When dist/ was last built (the broker's and the client's entry files), to notice a rebuild during the run. */
function distStamp() {
  try {
    const t = Math.max(...['dist/broker/main/cli.js', 'dist/client/index.js'].map((f) => statSync(join(REPO, f)).mtimeMs));
    return new Date(t).toISOString();
  } catch {
    return null;
  }
}

/** bench/results/peers-<date>.{json,md}, or with -2, -3 … when either is taken. */
function outputPaths(outDir, date) {
  const dir = outDir === null ? join(REPO, 'bench', 'results') : resolve(outDir);
  mkdirSync(dir, { recursive: true });
  for (let n = 1; ; n++) {
    const base = join(dir, `peers-${date}${n === 1 ? '' : `-${n}`}`);
    if (!existsSync(`${base}.json`) && !existsSync(`${base}.md`)) return { json: `${base}.json`, md: `${base}.md` };
  }
}
