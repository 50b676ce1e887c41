// Builds the browser bundle of client/ (an ES module) that the broker serves at /client.js.
// The bundle must hold no Node-only import: the build fails if one slips in.
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['client/index.ts'],
  outfile: 'dist/browser/chorus-client.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});
const nodeOnly = Object.keys(result.metafile.inputs).filter((p) => /(^|\/)node_modules\/ws\/|^node:/.test(p));
if (nodeOnly.length > 0) {
  console.error(`browser bundle pulled in Node-only modules: ${nodeOnly.join(', ')}`);
  process.exit(1);
}

// What `chorus_build_info` reports: the package version and the commit built (unknown outside a
// git checkout, e.g. in an image built from a tarball; CHORUS_COMMIT overrides it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
let commit = process.env.CHORUS_COMMIT ?? 'unknown';
if (process.env.CHORUS_COMMIT === undefined) {
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
}
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
writeFileSync('dist/build-info.json', `${JSON.stringify({ version, commit })}\n`);
