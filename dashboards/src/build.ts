/**
 * Writes the generated dashboard to dashboards/chorus.json (`npm run dashboards`, from the
 * repository root), or with `--check` only says whether the committed file is the generator's
 * output (exit 1 when it is not).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chorusDashboard } from './chorus.js';
import { render } from './grafana.js';

const target = resolve('dashboards', 'chorus.json');
if (!existsSync(resolve('dashboards'))) {
  console.error(`no dashboards/ in ${process.cwd()}: run it from the repository root (npm run dashboards)`);
  process.exit(2);
}
const text = render(chorusDashboard());
const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error('dashboards/chorus.json is not the generator’s output: run npm run dashboards');
    process.exit(1);
  }
  console.log('dashboards/chorus.json is up to date');
} else if (current === text) {
  console.log('dashboards/chorus.json unchanged');
} else {
  writeFileSync(target, text);
  console.log(`wrote dashboards/chorus.json (${chorusDashboard().panels.length} panels)`);
}
