// The chaos run (test/chaos, `npm run chaos`) in short: one seed, 40 s of faults — seed 9's
// schedule has a bridge partition and a cut link through the test's own proxies, kill -9 and
// SIGTERM with restarts, SIGSTOP past the suspicion timeout — on five brokers with --lwg-replicas 3, subscribers with state on 20 topics and
// publishers with retries; it passes only if every check on the wire and in the application holds,
// no acknowledgement stalls past 10 s, and the property checker accepts every core log.
import { describe, expect, it } from 'vitest';
import { runChaos } from '../chaos/chaos.js';

describe('chaos (short)', () => {
  it('one seed of 40 s of faults keeps every promise', async () => {
    const lines: string[] = [];
    const r = await runChaos({ seed: 9, seconds: 40, log: (line) => lines.push(line) });
    console.info(
      `chaos seed 9: faults ${JSON.stringify(r.faults)}; acknowledged ${r.acknowledged}; longest stall ${r.longestStallMs} ms; resyncs ${r.resyncs}${r.logDir === undefined ? '' : `; logs kept in ${r.logDir}`}`,
    );
    if (!r.ok) console.info(lines.join('\n'));
    expect(r.violations).toEqual([]);
    expect(r.acknowledged).toBeGreaterThan(100);
    expect(Object.values(r.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
  }, 240_000);
});
