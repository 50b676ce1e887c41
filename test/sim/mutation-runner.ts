/**
 * The mutation script's runner (scripts/core-mutations.mjs bundles it with one mutation of
 * broker/core or broker/node applied): runs CI's seed list in order — the core group's runs, the
 * scripted scenarios (their expectations: a view reached, nobody leaving the primary), the races
 * (races.ts), then the whole-broker runs — and stops at the first run the checker (or a scenario) fails.
 * Prints one JSON line: { caught, runs, seed?, members?, harsh?, classic?, whole?, property?, message? }.
 */
import { runSimulation } from './run.js';
import { runScenario } from './scenario.js';
import { scenarioRuns } from './scenario-scripts.js';
import { races } from './races.js';
import { ciRuns, wholeRegressions, wholeRun, wholeSuites } from './seeds.js';
import { runWhole } from './whole/run.js';

/** One run of CI's list: what it was (for the report), and its violations' properties. */
interface Run {
  describe: Record<string, unknown>;
  violations: () => Array<{ property: string; message: string }>;
}

const runs: Run[] = [
  ...ciRuns().map((o) => ({ describe: { seed: o.seed, members: o.members, harsh: o.harsh === true, classic: o.classic === true, star: o.star === true, moves: o.moves === true }, violations: () => runSimulation(o).violations })),
  ...scenarioRuns().map(({ name, script, config }) => ({
    describe: { seed: 1, members: 0, scenario: name },
    violations: () => {
      const report = runScenario(script, 1, undefined, config).report;
      return report === '' ? [] : [{ property: 'SCENARIO', message: `${name}: ${report}` }];
    },
  })),
  ...races().map((race) => ({
    describe: { seed: 1, members: 0, race: race.name },
    violations: () => race.run(),
  })),
  // The regression seeds CI runs too (each once caught a bug no suite seed did).
  ...[...wholeRegressions.map((r) => wholeRun(r)), ...wholeSuites.flatMap((s) => Array.from({ length: s.seeds }, (_, i) => wholeRun(s, i + 1)))].map((options) => ({
    describe: { ...options, members: options.brokers, whole: true },
    violations: () => runWhole(options).violations,
  })),
];
let done = 0;
let verdict: Record<string, unknown> = { caught: false };
for (const run of runs) {
  done++;
  let violations: Array<{ property: string; message: string }>;
  try {
    violations = run.violations();
  } catch (e) {
    // Code that throws fails CI too; it is reported as such, not as a checker catch.
    violations = [{ property: 'THROWS', message: e instanceof Error ? e.message : String(e) }];
  }
  if (violations.length > 0) {
    verdict = { caught: true, ...run.describe, property: [...new Set(violations.map((v) => v.property))].join('+'), message: violations[0]!.message.slice(0, 200) };
    break;
  }
}
console.log(JSON.stringify({ ...verdict, runs: done, of: runs.length }));
