// Runs the whole vitest suite (extra arguments pass through), then prints one plain
// closing line, "N passed, N failed, N skipped", that any CI can read, and exits with vitest's code.
//
// Three passes: everything else (two files at a time); then, one file at a time, the tests that
// bound a calm subscriber's pauses while a broker is attacked or flooded — beside a three-broker
// mesh and a Chromium in the other worker, they measured that load, not the broker; then
// test/bench/, whose smoke runs pin a server and a load generator to the two cores.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'chorus-tests-'));
const vitest = join('node_modules', 'vitest', 'vitest.mjs');
const extra = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0 };
let status = 0;
let written = true;
const timed = ['test/integration/attacks.test.ts', 'test/integration/limits.test.ts'];
const passes = extra.length > 0 ? [extra] : [['--exclude', 'test/bench/**', ...timed.flatMap((f) => ['--exclude', f])], ['--maxWorkers', '1', ...timed], ['test/bench']];
passes.forEach((args, i) => {
  const out = join(dir, `results-${i}.json`);
  const run = spawnSync(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args], { stdio: 'inherit' });
  if ((run.status ?? 1) !== 0) status = run.status ?? 1;
  try {
    const results = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += results.numPassedTests;
    totals.failed += results.numFailedTests;
    totals.skipped += (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
  } catch {
    written = false; // vitest died before writing; its exit code tells
  }
});
rmSync(dir, { recursive: true, force: true });
console.log(written ? `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped` : 'no test results were written');
process.exit(status);
