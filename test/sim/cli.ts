/**
 * `npm run sim -- [--whole] [--seeds N] [--from S] [--members M] [--seed S] [--no-faults] [--harsh] [--classic] [--star] [--moves] [--no-give-up] [--claims] [--leaves] [--batching] [--cut-owners] [--ack-rounds N] [--replicas R] [--scale]`:
 * runs seeded simulations outside the test runner. `--seed S` replays one run and prints its
 * events and violations; `--classic` runs the mix the regression seeds were found in (no swarm
 * draw, no product traffic); `--star` makes every view heartbeat in a star (as views larger than
 * `heartbeatAllMax` do), to run the star under the faults of small views; `--scale` prints how view changes and multicasts cost with group size; `--no-give-up`: members never give up their incarnation on a timer, as in the mesh.
 * `--whole` runs whole brokers (the product's BrokerNode: core, topics, replicas) with simulated
 * clients, and checks the topic promises as well as the core's (`--members` is the broker count,
 * `--replicas` the owners per group, `--leaves` adds graceful leaves, two close together with R ≥ 3,
 * `--batching` performs a tick's client requests together, so that commands travel in batches,
 * `--cut-owners` adds partitions that cut off every owner of a group at once, `--ack-rounds N` lets
 * a broker send N ack rounds a tick at the end of its turns, as the mesh does with 5, `--claims`
 * lets brokers claim the groups whose traffic is mostly theirs, soon, so that owners move).
 */
import { formatViolations } from './checker.js';
import { runSimulation } from './run.js';
import { scaleTable } from './scale.js';
import { replayFlags, runWhole } from './whole/run.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const members = Number(flag('--members') ?? 5);
const faults = !process.argv.includes('--no-faults');
const harsh = process.argv.includes('--harsh');
const classic = process.argv.includes('--classic');
const star = process.argv.includes('--star');
const moves = process.argv.includes('--moves');
const giveUp = process.argv.includes('--no-give-up') ? { giveUp: false as const } : {};
const claims = process.argv.includes('--claims');
const leaves = process.argv.includes('--leaves');
const batching = process.argv.includes('--batching');
const cutOwners = process.argv.includes('--cut-owners');
const replicas = flag('--replicas');
const ackRounds = flag('--ack-rounds');

if (process.argv.includes('--whole')) {
  const one = flag('--seed');
  const from = one !== undefined ? Number(one) : Number(flag('--from') ?? 1);
  const seeds = one !== undefined ? 1 : Number(flag('--seeds') ?? 100);
  const started = Date.now();
  let failed = 0;
  let salvaged = 0;
  let behind = 0;
  let takeovers = 0;
  let claimsSaid = 0;
  let released = 0;
  let claimedGroups = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const options = { seed, brokers: members, faults, harsh, star, leaves, batching, cutOwners, moves, claims, ...(replicas === undefined ? {} : { replicas: Number(replicas) }), ...(ackRounds === undefined ? {} : { ackRounds: Number(ackRounds) }) };
    const result = runWhole(options);
    if (one !== undefined) console.log(`${result.log.join('\n')}\n${JSON.stringify(result.stats)}`);
    salvaged += result.stats.salvaged;
    behind += result.stats.behind;
    takeovers += result.stats.takeovers;
    claimsSaid += result.stats.claims;
    released += result.stats.released;
    claimedGroups += result.stats.claimedGroups;
    if (result.ok) continue;
    failed++;
    console.log(`seed ${seed} FAILED — replay: npm run sim -- --whole --seed ${seed}${replayFlags(options)}\n${result.report.split('\n').slice(0, 8).join('\n')}\n`);
  }
  const waits = (cutOwners ? `, ${salvaged} groups came back to a kept copy (${behind} of them behind)` : '') + (moves ? `, ${takeovers} take-overs asked` : '') + (claims ? `, ${claimsSaid} claims and withdrawals said, ${claimedGroups} groups owned by claims at the end` : '') + `, ${released} copies let go`;
  console.log(`${seeds - failed} passed, ${failed} failed (whole brokers: ${members}${star ? ', star heartbeats' : ''}, seeds ${from}–${from + seeds - 1}${waits}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exitCode = failed === 0 ? 0 : 1;
} else if (process.argv.includes('--scale')) {
  console.log(scaleTable([5, 10, 25, 50, 100]));
} else if (flag('--seed') !== undefined) {
  const result = runSimulation({ seed: Number(flag('--seed')), members, faults, harsh, classic, star, moves, ...giveUp });
  console.log(result.events.join('\n'));
  console.log(`ticks ${result.ticks}, converged ${result.converged}, ${JSON.stringify(result.stats)}`);
  console.log(result.violations.length === 0 ? 'no violations' : formatViolations(result.violations, 50));
  process.exitCode = result.violations.length === 0 ? 0 : 1;
} else {
  const seeds = Number(flag('--seeds') ?? 100);
  const from = Number(flag('--from') ?? 1);
  const started = Date.now();
  let failed = 0;
  let moved = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const result = runSimulation({ seed, members, faults, harsh, classic, star, moves, ...giveUp });
    moved += result.stats.moved;
    if (result.violations.length === 0) continue;
    failed++;
    console.log(`seed ${seed} FAILED — replay: ${result.replay}\n${formatViolations(result.violations, 8)}\n`);
  }
  console.log(`${seeds - failed} passed, ${failed} failed (${members} members${star ? ', star heartbeats' : ''}${'giveUp' in giveUp ? ', no giving up' : ''}${moves ? `, take-overs (${moved} streams moved at the end)` : ''}, seeds ${from}–${from + seeds - 1}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exitCode = failed === 0 ? 0 : 1;
}
