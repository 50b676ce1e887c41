// `npm run chaos`: the chaos run's command line (test/chaos/cli.ts) against the built broker
// (dist/, built by the npm script first). Bundles the harness with esbuild into a temporary file,
// so it needs no TypeScript loader, then runs it with the same arguments.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

// Inside the project (node_modules/.cache), so the packages left out of the bundle resolve.
const cache = join(process.cwd(), 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const dir = mkdtempSync(join(cache, 'chorus-chaos-'));
// Ctrl-C reaches the run too, which kills its brokers and exits; this process then cleans up.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
const out = join(dir, 'chaos.mjs');
try {
  // The harness finds dist/broker/main/cli.js next to where it is bundled from: keep that path.
  await build({
    entryPoints: ['test/chaos/cli.ts'],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    packages: 'external',
    define: { 'import.meta.dirname': JSON.stringify(join(process.cwd(), 'test', 'helpers')) },
  });
  const run = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
