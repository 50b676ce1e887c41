// Proves the core group's guarantees over seeded random runs of the simulator: each run has a safety
// phase with crashes, pauses, partitions, leaves, restarts, loss and duplication, then a healed
// liveness phase in which everyone must converge; the checker reads every member's log. A failure
// names its seed and the command that replays it exactly.
import { describe, expect, it } from 'vitest';
import { formatViolations } from './checker.js';
import { runSimulation, type RunOptions } from './run.js';
import { knownFailures, regressions, suites } from './seeds.js';

function check(options: RunOptions): number {
  const result = runSimulation(options);
  if (result.violations.length > 0) {
    throw new Error(`seed ${result.seed} failed; replay with: ${result.replay}\n${formatViolations(result.violations, 12)}\nevents:\n${result.events.join('\n')}`);
  }
  expect(result.converged).toBe(true);
  expect(result.stats.multicasts).toBeGreaterThan(0);
  return result.stats.moved;
}

describe('core group under seeded faults', () => {
  it.each(regressions)('regression: seed $seed with $members members ($caught)', ({ seed, members, harsh, classic, giveUp }) => void check({ seed, members, harsh: harsh === true, classic: classic !== false, ...(giveUp === false ? { giveUp } : {}) }));

  if (knownFailures.length > 0) it.fails.each(knownFailures)('known core bug, still failing: seed $seed with $members members ($caught)', ({ seed, members, harsh }) => void check({ seed, members, harsh: harsh === true }));

  for (const suite of suites) {
    it(`${suite.seeds} runs of ${suite.members} members${suite.faults ? (suite.harsh === true ? ' with harsher faults' : ' with faults') : ' on a lossy network only'}${suite.star === true ? ', heartbeats in a star' : ''}${suite.moves === true ? ', streams taken over' : ''}${suite.giveUp === false ? ', never giving up' : ''}`, () => {
      let moved = 0;
      for (let seed = 1; seed <= suite.seeds; seed++) moved += check({ seed, members: suite.members, faults: suite.faults, harsh: suite.harsh === true, star: suite.star === true, moves: suite.moves === true, ...(suite.giveUp === false ? { giveUp: false } : {}) });
      // Take-overs take effect: most runs end their calm phase with streams sequenced away from their place.
      if (suite.moves === true) expect(moved).toBeGreaterThan(suite.seeds);
    }, 180_000);
  }
});
