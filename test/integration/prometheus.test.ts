// Proves the metrics with a real Prometheus: it scrapes a real broker's /metrics (on the internal
// port, as the Kubernetes manifest has it), and every query of the Grafana dashboard is valid
// PromQL that Prometheus evaluates, with its variables given values as Grafana would; the core
// figures come back with the values the broker has. The broker is scraped twice, as a bare job and
// as a job with the namespace and pod labels Prometheus adds on Kubernetes, and the dashboard's
// filters pick each one (namespace and pod, absent on the bare job, match it at their All, `.*`).
// Needs the prometheus binary (`apt-get install prometheus`; .ci/run installs it); skipped
// without one outside CI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { freePorts } from '../helpers/mesh.js';
import { pollUntil } from '../helpers/wait.js';

const prometheusPath = process.env['PROMETHEUS_PATH'] ?? '/usr/bin/prometheus';
/** Installed beside prometheus by Debian's package. */
const promtoolPath = join(dirname(prometheusPath), 'promtool');
const canRun = existsSync(prometheusPath) || process.env['CI'] !== undefined;
if (!canRun) console.warn(`Prometheus test skipped: no prometheus at ${prometheusPath} (set PROMETHEUS_PATH; in CI it always runs)`);

interface QueryResult {
  status: string;
  error?: string;
  data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe.skipIf(!canRun)('a real Prometheus scraping a broker', { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let internalPort = 0;
  let dir = '';
  let client: Client;

  async function query(expr: string): Promise<QueryResult> {
    return (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as QueryResult;
  }

  beforeAll(async () => {
    let [internal, promPort] = await freePorts(2);
    // A port found free may be taken by a test beside this one before it is bound: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        broker = await startBrokerProcess(['--internal-port', String(internal)]);
        internalPort = internal!;
        break;
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
        [internal, promPort] = await freePorts(2);
      }
    }
    client = await connect(broker.url);
    await client.subscribe('prom.room', () => {});
    for (let i = 0; i < 5; i++) await client.publish('prom.room', i);
    dir = mkdtempSync(join(tmpdir(), 'chorus-prom-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: chorus\n    static_configs:\n      - targets: ['127.0.0.1:${internal}']\n` +
        `  - job_name: chorus-k8s\n    static_configs:\n      - targets: ['127.0.0.1:${internal}']\n        labels: { namespace: chorus, pod: chorus-0 }\n`,
    );
    prometheus = spawn(prometheusPath, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    promUrl = `http://127.0.0.1:${promPort}`;
    // The first successful scrape, as Prometheus reports it (it pushes nothing: asked again, bounded).
    await pollUntil(async () => (await query('count(up{job=~"chorus|chorus-k8s"} == 1) == 2')).data?.result.length === 1, 30_000, 'Prometheus to scrape the broker');
  });

  afterAll(async () => {
    await client?.close();
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await broker?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it("reads the broker's figures as the broker has them", async () => {
    const connections = await query('chorus_connections{job="chorus"}');
    expect(connections.data?.result[0]?.value[1]).toBe('1');
    const published = await query('sum(chorus_messages_in_total{job="chorus"})');
    expect(Number(published.data?.result[0]?.value[1])).toBe(5);
  });

  it('passes promtool check metrics on a real scrape, with the build named', async () => {
    const scrape = await (await fetch(`http://127.0.0.1:${internalPort}/metrics`)).text();
    const check = spawnSync(promtoolPath, ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
    expect({ status: check.status, out: `${check.stdout}${check.stderr}`.trim() }).toEqual({ status: 0, out: '' });
    expect(scrape).toMatch(/^chorus_build_info\{version="\d+\.\d+\.\d+",commit="(?:[0-9a-f]+|unknown)",node="v\d+[^"]*"\} 1$/m);
    // Process metrics under their usual names, as dashboards for any Node service expect.
    expect(scrape).toMatch(/^process_cpu_seconds_total /m);
  });

  interface Dashboard {
    templating: { list: Array<{ name: string; type: string; definition?: string }> };
    panels: Array<{ uid: string; title: string; targets?: Array<{ expr: string }> }>;
  }
  const dashboard = JSON.parse(readFileSync('dashboards/chorus.json', 'utf8')) as Dashboard;
  const variables = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => v.name);

  /** `expr` as Grafana sends it: `$__rate_interval` a range, each variable its value (All: `.*`). */
  function substitute(expr: string, values: Record<string, string> = {}): string {
    let out = expr.replaceAll('$__rate_interval', '1m');
    for (const name of variables) out = out.replaceAll(`$${name}`, values[name] ?? '.*');
    expect(out, expr).not.toContain('$');
    return out;
  }

  it('evaluates every query of the Grafana dashboard', async () => {
    expect(variables).toEqual(['job', 'namespace', 'pod', 'instance']);
    let count = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const expr = substitute(target.expr);
        const result = await query(expr);
        expect(result.status, `${panel.title}: ${expr} — ${result.error ?? ''}`).toBe('success');
        count++;
      }
    }
    expect(count).toBeGreaterThan(25);
  });

  it("filters by the dashboard's variables on a bare scrape and on one with Kubernetes labels", async () => {
    const connections = dashboard.panels.find((p) => p.uid === 'connections')!.targets![0]!.expr;
    const value = async (values: Record<string, string>): Promise<string[]> => ((await query(substitute(connections, values))).data?.result ?? []).map((r) => r.value[1]);
    expect(await value({ job: 'chorus' })).toEqual(['1']);
    expect(await value({ job: 'chorus-k8s', namespace: 'chorus', pod: 'chorus-0' })).toEqual(['1']);
    expect(await value({ job: 'chorus-k8s', namespace: 'elsewhere' })).toEqual([]);
    expect(await value({ job: 'chorus', pod: 'chorus-0' })).toEqual([]);
    expect(await value({ instance: `127.0.0.1:${internalPort}` })).toEqual(['2']);
    // Each variable's values, as Grafana's label_values(series, label) reads them (at All).
    const labelValues = async (name: string): Promise<string[]> => {
      const [, selector, label] = /^label_values\((.+), (\w+)\)$/.exec(dashboard.templating.list.find((v) => v.name === name)?.definition ?? '')!;
      const found = ((await query(substitute(selector!))).data?.result ?? []).map((r) => r.metric[label!]);
      return [...new Set(found.filter((v) => v !== undefined))].sort();
    };
    expect(await labelValues('job')).toEqual(['chorus', 'chorus-k8s']);
    expect(await labelValues('namespace')).toEqual(['chorus']);
    expect(await labelValues('pod')).toEqual(['chorus-0']);
    expect(await labelValues('instance')).toEqual([`127.0.0.1:${internalPort}`]);
  });
});
