// Keeps docs/metrics.md equal to the metrics a broker registers: every chorus_ metric is listed
// with its type, and nothing listed is missing from the registry.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { BrokerMetrics } from '../../broker/server/metrics.js';

it('docs/metrics.md lists exactly the metrics the broker registers, with their types', async () => {
  const documented = [...readFileSync('docs/metrics.md', 'utf8').matchAll(/^\| `([a-z_]+)` \| (counter|gauge|histogram|summary) \|/gm)].map((m) => `${m[1]} ${m[2]}`);
  const registered = (await new BrokerMetrics().registry.getMetricsAsJSON()).filter((m) => !/^(process_|nodejs_)/.test(m.name)).map((m) => `${m.name} ${m.type}`);
  expect(documented.sort()).toEqual(registered.sort());
  expect(registered.length).toBeGreaterThan(20);
});
