// Runs the whole vitest suite (extra arguments pass through), then prints one plain
// closing line, "N passed, N failed, N skipped", that any CI can read, and exits with vitest's code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'chorus-tests-'));
const out = join(dir, 'results.json');
const vitest = join('node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let summary = 'no test results were written';
try {
  const results = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
  summary = `${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`;
} catch {
  // vitest died before writing; its exit code tells
}
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exit(run.status ?? 1);
