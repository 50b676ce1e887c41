// The alert rules (dashboards/alerts.yaml) are valid and each one fires, with its labels and
// annotations, on the series its unit test feeds it (dashboards/alerts.test.yaml), per promtool.
// Needs promtool (Debian's prometheus package; .ci/run installs it): skipped without it outside CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const promtool = process.env['PROMTOOL_PATH'] ?? '/usr/bin/promtool';
const canRun = existsSync(promtool) || process.env['CI'] !== undefined;
if (!canRun) console.warn(`alert rule tests skipped: no promtool at ${promtool} (set PROMTOOL_PATH; in CI they always run)`);

describe.skipIf(!canRun)('alert rules', () => {
  const run = (...args: string[]) => spawnSync(promtool, args, { cwd: 'dashboards', encoding: 'utf8' });

  it('pass promtool check rules', () => {
    const out = run('check', 'rules', 'alerts.yaml');
    expect(out.status, out.stdout + out.stderr).toBe(0);
  });

  it('fire as their unit tests expect, and every rule has one', () => {
    const out = run('test', 'rules', 'alerts.test.yaml');
    expect(out.status, out.stdout + out.stderr).toBe(0);
    const rules = [...readFileSync('dashboards/alerts.yaml', 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tested = new Set([...readFileSync('dashboards/alerts.test.yaml', 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    expect(rules.filter((r) => !tested.has(r))).toEqual([]);
  });
});
