/**
 * The mutation script's runner (scripts/core-mutations.mjs bundles it with one mutation of
 * broker/core or broker/node applied): runs CI's seed list in order — the core group's runs, then
 * the whole-broker runs — and stops at the first run the checker fails.
 * Prints one JSON line: { caught, runs, seed?, members?, harsh?, classic?, whole?, property?, message? }.
 */
import { runSimulation } from './run.js';
import { ciRuns, wholeSuites } from './seeds.js';
import { runWhole } from './whole/run.js';

const runs = ciRuns();
const wholeRuns = wholeSuites.flatMap(({ brokers, seeds }) => Array.from({ length: seeds }, (_, i) => ({ seed: i + 1, brokers })));
let done = 0;
let verdict: Record<string, unknown> = { caught: false };
for (const options of runs) {
  done++;
  let property: string | undefined;
  let message = '';
  try {
    const result = runSimulation(options);
    if (result.violations.length > 0) {
      property = [...new Set(result.violations.map((v) => v.property))].join('+');
      message = result.violations[0]!.message;
    }
  } catch (e) {
    // A core that throws fails CI too; it is reported as such, not as a checker catch.
    property = 'THROWS';
    message = e instanceof Error ? e.message : String(e);
  }
  if (property !== undefined) {
    verdict = { caught: true, seed: options.seed, members: options.members, harsh: options.harsh === true, classic: options.classic === true, property, message: message.slice(0, 200) };
    break;
  }
}
if (verdict['caught'] !== true) {
  for (const options of wholeRuns) {
    done++;
    let property: string | undefined;
    let message = '';
    try {
      const result = runWhole(options);
      if (!result.ok) {
        property = [...new Set(result.violations.map((v) => v.property))].join('+');
        message = result.violations[0]!.message;
      }
    } catch (e) {
      property = 'THROWS';
      message = e instanceof Error ? e.message : String(e);
    }
    if (property !== undefined) {
      verdict = { caught: true, seed: options.seed, members: options.brokers, whole: true, property, message: message.slice(0, 200) };
      break;
    }
  }
}
console.log(JSON.stringify({ ...verdict, runs: done, of: runs.length + wholeRuns.length }));
