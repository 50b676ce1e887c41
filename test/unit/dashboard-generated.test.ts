// dashboards/chorus.json is the generator's output (dashboards/src, `npm run dashboards`), never
// edited by hand: the committed file equals what the generator writes now; every rate-like
// function runs over $__rate_interval (no fixed range anywhere); the dashboard, its rows and
// panels have unique uids and ids that are stable (the same on every run, and a panel's id follows
// from its uid alone); and the template variables exist, each filter regex-matched with `.*` as All.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chorusDashboard } from '../../dashboards/src/chorus.js';
import { panelId, render } from '../../dashboards/src/grafana.js';
import { RATE_INTERVAL, rate, sumBy } from '../../dashboards/src/promql.js';

const generated = chorusDashboard();
const exprs = generated.panels.flatMap((p) => (p.type === 'timeseries' ? p.targets.map((t) => t.expr) : []));

describe('the generated Grafana dashboard', () => {
  it('is what is committed as dashboards/chorus.json', () => {
    const committed = readFileSync('dashboards/chorus.json', 'utf8');
    // On a mismatch: run `npm run dashboards` and commit the result.
    expect(committed).toBe(render(generated));
  });

  it('takes every rate-like function over $__rate_interval, and no fixed range anywhere', () => {
    expect(exprs.length).toBeGreaterThan(25);
    let rateLike = 0;
    for (const expr of exprs) {
      const calls = [...expr.matchAll(/\b(rate|irate|increase|delta|idelta|deriv|[a-z]+_over_time)\(/g)].length;
      const ranges = [...expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
      expect(ranges, expr).toEqual(Array<string>(calls).fill(RATE_INTERVAL));
      rateLike += calls;
    }
    expect(rateLike).toBeGreaterThan(15);
    // The helper the panels use cannot write anything else.
    expect(rate('x_total')).toMatch(/\[\$__rate_interval\]\)$/);
    expect(sumBy([], 'x')).toBe('sum(x)');
  });

  it('gives the dashboard, each row and each panel a unique, stable uid and id', () => {
    expect(generated.uid).toBe('chorus-overview');
    const uids = generated.panels.map((p) => p.uid);
    const ids = generated.panels.map((p) => p.id);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of generated.panels) {
      expect(p.uid, p.title).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(p.id, p.title).toBe(panelId(p.uid));
      expect(Number.isInteger(p.id) && p.id > 0, p.title).toBe(true);
    }
    // Deterministic: built again, nothing differs (no random or time-based ids).
    expect(render(chorusDashboard())).toBe(render(generated));
    // An id follows from the uid alone, so a panel added elsewhere moves no other panel's id.
    expect(panelId('connections')).toBe(generated.panels.find((p) => p.uid === 'connections')?.id);
  });

  it('has the datasource, job, namespace, pod and instance variables, each query filtered by them', () => {
    const vars = generated.templating.list;
    expect(vars.map((v) => v.name)).toEqual(['datasource', 'job', 'namespace', 'pod', 'instance']);
    expect(vars[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const v of vars.slice(1)) {
      expect(v, v.name).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*', datasource: { type: 'prometheus', uid: '${datasource}' } });
      if (v.type === 'query') expect(v.definition, v.name).toMatch(new RegExp(`^label_values\\(chorus_build_info(\\{.*\\})?, ${v.name}\\)$`));
    }
    for (const expr of exprs) {
      const selectors = [...expr.matchAll(/\b([a-z0-9_]+)\{([^}]*)\}/g)];
      expect(selectors.length, expr).toBeGreaterThan(0);
      for (const [, , matchers] of selectors) expect(matchers, expr).toBe('job=~"$job", namespace=~"$namespace", pod=~"$pod", instance=~"$instance"');
    }
    // Every panel reads the data source the variable picks.
    for (const p of generated.panels) if (p.type === 'timeseries') expect(p.datasource.uid).toBe('${datasource}');
  });
});
