// Proves the core group's guarantees over seeded random runs of the simulator: each run has a safety
// phase with crashes, pauses, partitions, leaves, restarts, loss and duplication, then a healed
// liveness phase in which everyone must converge; the checker reads every member's log. A failure
// names its seed and the command that replays it exactly.
import { describe, expect, it } from 'vitest';
import { formatViolations } from './checker.js';
import { runSimulation, type RunOptions } from './run.js';

/** The fixed list CI runs: 240 runs over three group sizes, plus calm runs. */
const suites: Array<{ members: number; seeds: number; faults: boolean }> = [
  { members: 5, seeds: 150, faults: true },
  { members: 3, seeds: 50, faults: true },
  { members: 7, seeds: 25, faults: true },
  { members: 4, seeds: 15, faults: false },
];

function check(options: RunOptions): void {
  const result = runSimulation(options);
  if (result.violations.length > 0) {
    throw new Error(`seed ${result.seed} failed; replay with: ${result.replay}\n${formatViolations(result.violations, 12)}\nevents:\n${result.events.join('\n')}`);
  }
  expect(result.converged).toBe(true);
  expect(result.stats.multicasts).toBeGreaterThan(0);
}

describe('core group under seeded faults', () => {
  for (const suite of suites) {
    it(`${suite.seeds} runs of ${suite.members} members${suite.faults ? ' with faults' : ' on a lossy network only'}`, () => {
      for (let seed = 1; seed <= suite.seeds; seed++) check({ seed, members: suite.members, faults: suite.faults });
    }, 180_000);
  }
});
