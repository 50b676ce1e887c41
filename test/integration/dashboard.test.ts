// Keeps the Grafana dashboard true to the broker: every metric a panel queries is one a real
// broker's /metrics exports (names followed by _bucket/_sum/_count taken to their histogram),
// the template variables' queries included; every panel has a query, and the dashboard is valid
// JSON with its data-source and filter variables. (test/unit/dashboard-generated.test.ts keeps the
// file equal to its generator, dashboards/src.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync('dashboards/chorus.json', 'utf8')) as { panels: Panel[]; templating: { list: Array<{ name: string; definition?: string }> } };
  let broker: BrokerProcess;
  beforeAll(async () => {
    broker = await startBrokerProcess([]);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('queries only metrics the broker exports', async () => {
    const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const used = new Set<string>();
    const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.templating.list.map((v) => v.definition ?? '')];
    for (const expr of exprs) for (const m of expr.matchAll(/\bchorus_[a-z0-9_]+/g)) used.add(m[0]);
    expect(used.size).toBeGreaterThan(20);
    const missing = [...used].filter((name) => !exported.has(name) && !exported.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(missing).toEqual([]);
  });

  it('has a query in every panel and a Prometheus data-source variable', () => {
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'namespace', 'pod', 'instance']);
  });
});
