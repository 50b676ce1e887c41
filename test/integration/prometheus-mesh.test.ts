// A real Prometheus over a real three-broker mesh, with the alert rules of dashboards/alerts.yaml
// loaded (their `for:` shortened to 0s, so a test need not wait minutes): while traffic flows and
// views change, every query of the Grafana dashboard evaluates and returns data, every alert rule
// evaluates without error, and Prometheus's own rule evaluation fires the alerts that say so —
// ChorusBrokerOutsidePrimaryView for a broker cut off in a minority, ChorusNoPrimaryView once
// all three are cut apart. Needs the prometheus binary (.ci/run installs it); skipped without one
// outside CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { MeshHarness, freePorts } from '../helpers/mesh.js';
import { Condition, pollUntil } from '../helpers/wait.js';

const prometheusPath = process.env['PROMETHEUS_PATH'] ?? '/usr/bin/prometheus';
const canRun = existsSync(prometheusPath) || process.env['CI'] !== undefined;
if (!canRun) console.warn(`Prometheus mesh test skipped: no prometheus at ${prometheusPath} (set PROMETHEUS_PATH; in CI it always runs)`);

interface Vector {
  status: string;
  error?: string;
  data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}
interface Alerts {
  data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
}
interface Rules {
  data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
}
interface Dashboard {
  templating: { list: Array<{ name: string; type: string }> };
  panels: Array<{ uid: string; title: string; targets?: Array<{ expr: string }> }>;
}

/**
 * Panels whose series exist only once something was refused or lost (a counter with labels is
 * born with its first increment): they must evaluate, and may be empty on a healthy mesh.
 */
const bornOnTrouble = new Set(['protocol-errors', 'request-errors', 'sockets-refused', 'links-refused', 'closes', 'auth-failures']);

describe.skipIf(!canRun)('a real Prometheus over a three-broker mesh, with the alert rules', { timeout: 180_000 }, () => {
  const mesh = new MeshHarness();
  let brokers: BrokerProcess[] = [];
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';
  const api = async <T,>(path: string): Promise<T> => (await (await fetch(`${promUrl}/api/v1/${path}`)).json()) as T;
  const query = (expr: string): Promise<Vector> => api<Vector>(`query?query=${encodeURIComponent(expr)}`);
  const firing = async (alert: string): Promise<Array<Record<string, string>>> =>
    (await api<Alerts>('alerts')).data.alerts.filter((a) => a.labels['alertname'] === alert && a.state === 'firing').map((a) => a.labels);
  const instanceOf = (b: BrokerProcess): string => new URL(b.httpUrl).host;

  beforeAll(async () => {
    brokers = await mesh.start(3);
    const [promPort] = await freePorts(1);
    dir = mkdtempSync(join(tmpdir(), 'chorus-prom-mesh-'));
    // The rules as shipped, waiting 0s instead of minutes before they fire.
    writeFileSync(join(dir, 'alerts.yaml'), readFileSync('dashboards/alerts.yaml', 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 0s'));
    const targets = brokers.map((b) => `'${instanceOf(b)}'`).join(', ');
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['${join(dir, 'alerts.yaml')}']\n` +
        `scrape_configs:\n  - job_name: chorus\n    static_configs:\n      - targets: [${targets}]\n`,
    );
    prometheus = spawn(prometheusPath, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    promUrl = `http://127.0.0.1:${promPort}`;
    // Traffic: a subscriber on b1, a publisher on b0, so publishes cross the mesh.
    const subscriber = await mesh.client(brokers[1]!.url);
    let got = 0;
    const arrived = new Condition();
    await subscriber.subscribe('prom.mesh', () => (got++, arrived.notify()));
    const publisher = await mesh.client(brokers[0]!.url);
    for (let i = 0; i < 50; i++) await publisher.publish('prom.mesh', { i });
    await arrived.wait(() => got === 50, 20_000, 'the subscriber on b1 to get the 50 publishes');
    await pollUntil(async () => (await query('count(up{job="chorus"} == 1) == 3')).data?.result.length === 1, 30_000, 'Prometheus to scrape the three brokers');
    // Two scrapes after the traffic: a rate needs two samples of a series born with it.
    await pollUntil(async () => Number((await query('sum(chorus_messages_in_total{job="chorus"})')).data?.result[0]?.value[1]) >= 50, 30_000, 'a scrape after the traffic');
    await pollUntil(async () => ((await query('rate(chorus_messages_in_total{job="chorus"}[1m])')).data?.result.length ?? 0) > 0, 30_000, 'two scrapes after the traffic');
  });

  afterAll(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await mesh.finish('prometheus-mesh');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('evaluates every dashboard query over the mesh, each with data', async () => {
    const dashboard = JSON.parse(readFileSync('dashboards/chorus.json', 'utf8')) as Dashboard;
    const variables = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => v.name);
    const empty: string[] = [];
    let count = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        let expr = target.expr.replaceAll('$__rate_interval', '1m');
        for (const name of variables) expr = expr.replaceAll(`$${name}`, '.*');
        const result = await query(expr);
        expect(result.status, `${panel.title}: ${expr} — ${result.error ?? ''}`).toBe('success');
        if ((result.data?.result.length ?? 0) === 0) empty.push(panel.uid);
        count++;
      }
    }
    expect(count).toBeGreaterThan(30);
    expect(empty.filter((uid) => !bornOnTrouble.has(uid))).toEqual([]);
    // The mesh as the dashboard shows it: three members in each broker's view, all primary.
    expect((await query('chorus_cluster_members{job="chorus"}')).data?.result.map((r) => r.value[1])).toEqual(['3', '3', '3']);
  });

  it('fires ChorusBrokerOutsidePrimaryView for a broker cut off in a minority, then ChorusNoPrimaryView when all three are cut apart', async () => {
    const rules = await api<Rules>('rules');
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(await firing('ChorusBrokerOutsidePrimaryView')).toEqual([]);
    expect(await firing('ChorusNoPrimaryView')).toEqual([]);

    mesh.net.isolate(2);
    await pollUntil(async () => (await firing('ChorusBrokerOutsidePrimaryView')).some((l) => l['instance'] === instanceOf(brokers[2]!)), 60_000, 'ChorusBrokerOutsidePrimaryView for b2');
    expect(await firing('ChorusNoPrimaryView')).toEqual([]);

    // Cut b0 from b1 now and the two-broker view's tie-break keeps one of them primary (docs/core.md):
    // heal, let b2 rejoin, then cut all three apart at once — none holds a majority of the view.
    mesh.net.heal();
    await pollUntil(async () => (await query('min(chorus_cluster_members{job="chorus"}) == 3 and min(chorus_cluster_primary{job="chorus"}) == 1')).data?.result.length === 1, 60_000, 'the three brokers in one view again');
    mesh.net.partition([0], [1], [2]);
    await pollUntil(async () => (await firing('ChorusNoPrimaryView')).some((l) => l['job'] === 'chorus'), 60_000, 'ChorusNoPrimaryView');

    // Every rule evaluated without error all along (Prometheus reports each rule's health).
    const after = (await api<Rules>('rules')).data.groups.flatMap((g) => g.rules);
    expect(after.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  });
});
