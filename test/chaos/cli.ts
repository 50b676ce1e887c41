/**
 * `npm run chaos -- [--seed N] [--seeds K] [--seconds S] [--quiet]`: chaos runs (chaos.ts) for
 * seeds N, N+1 … N+K-1, one at a time, each with a fault phase of S seconds (default 60). Prints
 * each seed's schedule as it is applied, then a summary per seed (faults applied, publishes
 * acknowledged, longest stall, resyncs) and every violation; a failing seed's logs are kept and
 * the command that replays it is printed. Exit code 1 if any seed failed. Every broker process is
 * killed by PID on any exit, Ctrl-C included.
 */
import { killAllBrokers } from '../helpers/broker-process.js';
import { runChaos, type ChaosResult } from './chaos.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) {
    process.stderr.write(`chaos: --${name} needs a whole number\n`);
    process.exit(2);
  }
  return v;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllBrokers();
    process.stderr.write(`chaos: ${signal}, brokers killed\n`);
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  killAllBrokers();
  process.stderr.write(`chaos: ${err.stack ?? String(err)}\n`);
  process.exit(1);
});

const first = arg('seed', 1);
const count = arg('seeds', 1);
const seconds = arg('seconds', 60);
const quiet = process.argv.includes('--quiet');
const results: ChaosResult[] = [];
for (let seed = first; seed < first + count; seed++) {
  console.log(`seed ${seed}: ${seconds} s of faults, 5 brokers (--lwg-replicas 3)`);
  let r: ChaosResult;
  try {
    r = await runChaos({ seed, seconds, log: quiet ? () => {} : (line) => console.log(line) });
  } catch (err) {
    r = { seed, ok: false, violations: [`the run itself failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`], faults: {}, schedule: [], acknowledged: 0, publishFailures: 0, longestStallMs: 0, longestStallAround: '', resyncs: 0, refusals: 0, delivered: 0, subscriptions: 0, coreLogMembers: 0, elapsedMs: 0 };
  }
  results.push(r);
  const faults = Object.entries(r.faults).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
  console.log(
    `seed ${seed}: ${r.ok ? 'PASS' : 'FAIL'} — faults: ${faults}; acknowledged ${r.acknowledged} (failed ${r.publishFailures}), delivered ${r.delivered} to ${r.subscriptions} subscriptions; longest stall ${r.longestStallMs} ms; resyncs ${r.resyncs}; refused (re)subscribes ${r.refusals}; core logs of ${r.coreLogMembers} incarnations checked; ${(r.elapsedMs / 1000).toFixed(0)} s`,
  );
  if (!quiet && r.longestStallAround !== '') console.log(`  around the longest stall: ${r.longestStallAround}`);
  if (!r.ok) {
    for (const v of r.violations) console.log(`  violation: ${v}`);
    if (r.logDir !== undefined) console.log(`  logs kept in ${r.logDir}`);
    console.log(`  replay: npm run chaos -- --seed ${seed} --seconds ${seconds}`);
  }
}
const failed = results.filter((r) => !r.ok);
console.log(`chaos: ${results.length - failed.length} of ${results.length} seeds passed${failed.length > 0 ? ` (failed: ${failed.map((r) => r.seed).join(', ')})` : ''}`);
killAllBrokers();
process.exit(failed.length > 0 ? 1 : 0);
