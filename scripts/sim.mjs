// Runs the simulator's command line (test/sim/cli.ts): bundles it with esbuild into a temporary
// file, so it needs no TypeScript loader, then runs it with the same arguments.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const dir = mkdtempSync(join(tmpdir(), 'chorus-sim-'));
const out = join(dir, 'sim.mjs');
try {
  await build({ entryPoints: ['test/sim/cli.ts'], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  const run = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
