// Builds the @chorus/client package: tsc -p tsconfig.build.json into dist/ (ES modules and
// declarations), in place, then deletes whatever in dist/ no source file accounts for (the output
// of a source since removed or renamed, a stray map) — so `npm pack` never ships a stale module,
// and dist/ is never missing while the build runs (tests elsewhere may be reading it).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });

/** Removes the files under dir that are not the .js or .d.ts of a source; true when dir is left empty. */
function prune(dir) {
  let left = 0;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (prune(path)) rmSync(path, { recursive: true });
      else left++;
      continue;
    }
    const stem = relative(dist, path).match(/^(.*)\.(js|d\.ts)$/)?.[1];
    if (stem !== undefined && existsSync(join(here, `${stem}.ts`))) left++;
    else rmSync(path);
  }
  return left === 0;
}
prune(dist);
