/**
 * Reading the figures: the one-line bottleneck verdict and the human-readable summary
 * printed before the JSON line.
 */

/** The verdict drawn from the figures; rate is --rate (null for a flow-controlled run). */
export function bottleneckVerdict(figures, rate) {
  return (figures.otherProcessesCpuPct ?? 0) > 25
    ? `inconclusive: other processes used ${figures.otherProcessesCpuPct}% CPU during the run`
    : (figures.brokerCpuPct ?? 0) >= 90
      ? 'broker (its core is saturated)'
      : figures.clientThreadUtilizationPct >= 90
        ? 'client side: the load-generator thread is saturated, so the broker figures are a lower bound (try --raw-subscribers)'
        : (figures.machineCpuPct ?? 0) >= 0.85 * figures.cpus * 100
          ? `both sides near their limit: the machine was ${figures.machineCpuPct}% busy of ${figures.cpus * 100}%`
          : rate !== null
            ? 'none (paced run)'
            : 'neither side saturated: broker and clients wait on each other (window-limited; try a larger --window)';
}

export function printSummary(f) {
  const fmt = (x, unit = '') => (x === null || x === undefined ? 'n/a' : `${typeof x === 'number' ? x.toLocaleString('en-US') : x}${unit}`);
  const l = f.latencyMs;
  const lines = [
    '',
    `Chorus fan-out benchmark — node ${f.node}, ${f.platform}, ${f.cpus} CPUs`,
    `  args:        ${f.argv.length === 0 ? '(defaults)' : f.argv.join(' ')}`,
    `  setup:       1 publisher -> ${f.config.subscribers} subscribers on "${f.config.topic}", ${f.config.payloadBytes}-byte payloads, ` +
      `${f.config.rate === null ? `flow-controlled (window ${f.config.window} msgs, bursts of ${f.config.burst})` : `paced at ${f.config.rate} msgs/s (window ${f.config.window})`}, ` +
      `${f.config.warmupSeconds} s warm-up + ${f.measuredSeconds} s measured`,
    `  clients:     1 worker thread; publisher: chorus client library; subscribers: ${f.config.subscriberClient}`,
    `  broker:      pid ${f.broker.pid}, ${f.broker.url}`,
    '',
    `  delivered:   ${fmt(f.deliveredPerSec)} msgs/s total across subscribers  (per subscriber ${fmt(f.deliveredPerSubscriberPerSec.min)}–${fmt(f.deliveredPerSubscriberPerSec.max)} msgs/s)`,
    `  published:   ${fmt(f.publishedPerSec)} msgs/s`,
    `  latency:     p50 ${fmt(l.p50)} ms   p90 ${fmt(l.p90)} ms   p99 ${fmt(l.p99)} ms   p99.9 ${fmt(l.p999)} ms   max ${fmt(l.max)} ms   (publish -> deliver, ${fmt(l.samples)} samples)`,
    `  broker CPU:  ${fmt(f.brokerCpuPct, '%')} of one core (/proc/${f.broker.pid}/stat)   [/metrics says ${fmt(f.brokerCpuPctFromMetrics, '%')}]`,
    `  broker out:  ${fmt(f.brokerMessagesOutPerSec)} msgs/s, ${fmt(f.brokerFramesOutPerSec)} frames/s, ${fmt(f.brokerBytesOutMBPerSec)} MB/s (from /metrics)`,
    `  client load: process CPU ${fmt(f.clientProcessCpuPct, '%')}, client thread busy ${fmt(f.clientThreadUtilizationPct, '%')}, event-loop delay p99 ${fmt(f.clientEventLoopDelayP99Ms)} ms`,
    `  machine:     ${fmt(f.machineCpuPct, '%')} busy of ${f.cpus * 100}% (other processes ${fmt(f.otherProcessesCpuPct, '%')}, steal ${fmt(f.stealCpuPct, '%')})` +
      (f.otherProcessesCpuPct !== null && f.otherProcessesCpuPct > 10 ? '  — WARNING: other load on the machine skews these figures' : ''),
    `  integrity:   lost ${fmt(f.lost)}, duplicated ${fmt(f.duplicated)}, gaps ${fmt(f.gaps)}, disconnects ${fmt(f.disconnects)}, resyncs ${fmt(f.resyncs)}, ` +
      `publish errors ${fmt(f.publishErrors)}, slow-consumer closes ${fmt(f.slowConsumerCloses)}${f.drained ? '' : '  (tail NOT fully drained before the deadline)'}`,
    `  bottleneck:  ${f.bottleneck}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
