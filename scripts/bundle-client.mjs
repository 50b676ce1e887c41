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
