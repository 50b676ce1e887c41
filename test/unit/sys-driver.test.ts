// The $sys driver publishes only while someone watches: over a fake clock, a broker with no $sys
// subscriber (and no peer note) publishes nothing however long it runs; one that gets a watcher
// publishes each second; once the watcher leaves it stops again. Real Topics and metrics; only
// the clock is fake, so the idle stretch costs no real time (the integration test,
// test/integration/sys.test.ts, shows the same on a broker process).
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { startSys, sysTickMs } from '../../broker/main/sys-driver.js';
import { BrokerMetrics } from '../../broker/server/metrics.js';
import { Topics, ViewLog, sysTopic, topicLimitsDefault } from '../../broker/topics/index.js';
import { FakeSubscriber } from '../helpers/fake-subscriber.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

it('publishes snapshots only while someone watches, locally or through a peer note', async () => {
  let epoch = 0;
  const topics = new Topics({
    defer: queueMicrotask,
    limits: topicLimitsDefault,
    payloadBytesMax: 64 * 1024,
    presenceInfoBytesMax: 256,
    topicBytesMax: 255,
    subscriptionsMax: 10,
    newEpoch: () => `e${++epoch}`,
    now: () => Date.now(),
  });
  const driver = startSys({
    topics,
    metrics: new BrokerMetrics(),
    id: () => 'b#1',
    name: 'b',
    http: 'http://127.0.0.1:1',
    startedAt: Date.now(),
    mode: 'single',
    ready: () => true,
    view: () => ({ id: 1, members: ['b#1'], primary: true }),
    views: new ViewLog(),
    connections: () => 0,
    leads: () => true,
  });
  const seq = (): number => topics.table.get(sysTopic)?.seq ?? 0;
  try {
    await vi.advanceTimersByTimeAsync(10 * sysTickMs);
    expect(seq()).toBe(0);

    const watcher = new FakeSubscriber();
    topics.subscribe(watcher, { topic: sysTopic }, () => {});
    await vi.advanceTimersByTimeAsync(3 * sysTickMs);
    expect(seq()).toBeGreaterThanOrEqual(2);

    topics.unsubscribe(watcher, sysTopic);
    await vi.advanceTimersByTimeAsync(sysTickMs);
    const after = seq();
    await vi.advanceTimersByTimeAsync(10 * sysTickMs);
    expect(seq()).toBe(after);

    // A peer's note that someone watches there: publishing for a while, then quiet again.
    driver.peerWatches();
    await vi.advanceTimersByTimeAsync(2 * sysTickMs);
    expect(seq()).toBeGreaterThan(after);
    await vi.advanceTimersByTimeAsync(5 * sysTickMs);
    const quiet = seq();
    await vi.advanceTimersByTimeAsync(10 * sysTickMs);
    expect(seq()).toBe(quiet);
  } finally {
    driver.stop();
  }
});
