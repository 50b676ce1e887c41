/**
 * Reading the figures: the one-line bottleneck verdict, the human-readable summary of a
 * run printed before the JSON line, and (--mesh) the single-broker vs mesh table.
 */

/** The verdict drawn from the figures; rate is --rate (null for a flow-controlled run). */
export function bottleneckVerdict(figures, rate) {
  return (figures.otherProcessesCpuPct ?? 0) > 25
    ? `inconclusive: other processes used ${figures.otherProcessesCpuPct}% CPU during the run`
    : (figures.brokerCpuPct ?? 0) >= 90
      ? figures.brokers === undefined
        ? 'broker (its core is saturated)'
        : `broker ${busiest(figures).name} (${busiest(figures).role}; its core is saturated)`
      : figures.clientThreadUtilizationPct >= 90
        ? 'client side: the load-generator thread is saturated, so the broker figures are a lower bound (try --raw-subscribers)'
        : (figures.machineCpuPct ?? 0) >= 0.85 * figures.cpus * 100
          ? `both sides near their limit: the machine was ${figures.machineCpuPct}% busy of ${figures.cpus * 100}%`
          : rate !== null
            ? 'none (paced run)'
            : 'neither side saturated: broker and clients wait on each other (window-limited; try a larger --window)';
}

function busiest(f) {
  return f.brokers.reduce((a, b) => ((b.cpuPct ?? -1) > (a.cpuPct ?? -1) ? b : a));
}

/** A member id from the cluster view (name#incarnation) against a broker of the run. */
const sameBroker = (id, b) => id !== null && id !== undefined && (id === b.id || String(id).split('#')[0] === b.name);

const fmt = (x, unit = '') => (x === null || x === undefined ? 'n/a' : `${typeof x === 'number' ? x.toLocaleString('en-US') : x}${unit}`);

/** Whether broker `b` owned the bench topic's group at the start and at the end (a claim moves owners: docs/mesh.md). */
function ownership(cluster, b) {
  const atStart = (cluster?.topicOwners ?? []).some((o) => sameBroker(o, b));
  const atEnd = cluster?.topicOwnersAfter === undefined ? atStart : cluster.topicOwnersAfter.some((o) => sameBroker(o, b));
  if (atStart && atEnd) return ", owns the topic's group";
  if (atStart) return ", owned the topic's group at the start, not at the end";
  return atEnd ? ", owns the topic's group at the end (claimed it)" : '';
}

/** The summary of one run: f holds the shared header (node, argv, config) and that run's figures. */
export function printSummary(f, title = 'Chorus fan-out benchmark') {
  const l = f.latencyMs;
  const mesh = f.brokers !== undefined;
  const pub = mesh ? f.brokers.find((b) => b.role === 'publisher') : null;
  const sub = mesh ? f.brokers.find((b) => b.role === 'subscribers') : null;
  const brokerLines = mesh
    ? f.brokers.map(
        (b, i) =>
          `  ${i === 0 ? 'brokers:    ' : '            '} ${b.name} (${b.role}) pid ${b.pid}, ${b.url}, CPU ${fmt(b.cpuPct, '%')} of one core [/metrics ${fmt(b.cpuPctFromMetrics, '%')}], links in ${fmt(b.linkInMBPerSec)} MB/s` +
          (sameBroker(f.cluster?.coordinator, b) ? ', coordinator' : '') +
          (sameBroker(f.cluster?.topicSequencer, b) ? `, placed to sequence the topic's stream (lwg ${f.cluster.topicStream})` : '') +
          (sameBroker(f.cluster?.topicSequencerAfter, b) ? ', sequences it at the end' : '') +
          ownership(f.cluster, b),
      )
    : [`  broker:      pid ${f.broker.pid}, ${f.broker.url}`];
  const lines = [
    '',
    `${title} — node ${f.node}, ${f.platform}, ${f.cpus} CPUs`,
    `  args:        ${f.argv.length === 0 ? '(defaults)' : f.argv.join(' ')}`,
    `  setup:       1 publisher${mesh ? ` on ${pub.name}` : ''} -> ${f.config.subscribers} subscribers${mesh ? ` on ${sub.name}` : ''} on "${f.config.topic}", ${f.config.payloadBytes}-byte payloads, ` +
      `${f.config.rate === null ? `flow-controlled (window ${f.config.window} msgs, bursts of ${f.config.burst})` : `paced at ${f.config.rate} msgs/s (window ${f.config.window})`}, ` +
      `${f.config.warmupSeconds} s warm-up + ${f.measuredSeconds} s measured`,
    `  clients:     1 worker thread; publisher: chorus client library; subscribers: ${f.config.subscriberClient}`,
    ...brokerLines,
    ...(mesh ? [`  mesh:        ${f.brokers.length} brokers, formed in ${fmt(f.cluster?.formMs)} ms after all listened`] : []),
    '',
    `  delivered:   ${fmt(f.deliveredPerSec)} msgs/s total across subscribers  (per subscriber ${fmt(f.deliveredPerSubscriberPerSec.min)}–${fmt(f.deliveredPerSubscriberPerSec.max)} msgs/s)`,
    `  published:   ${fmt(f.publishedPerSec)} msgs/s`,
    `  latency:     p50 ${fmt(l.p50)} ms   p90 ${fmt(l.p90)} ms   p99 ${fmt(l.p99)} ms   p99.9 ${fmt(l.p999)} ms   max ${fmt(l.max)} ms   (publish -> deliver, ${fmt(l.samples)} samples)`,
    mesh
      ? `  broker CPU:  busiest ${fmt(f.brokerCpuPct, '%')} of one core, all ${f.brokers.length} brokers ${fmt(f.brokersCpuPctTotal, '%')} (/proc/<pid>/stat)`
      : `  broker CPU:  ${fmt(f.brokerCpuPct, '%')} of one core (/proc/${f.broker.pid}/stat)   [/metrics says ${fmt(f.brokerCpuPctFromMetrics, '%')}]`,
    `  broker out:  ${fmt(f.brokerMessagesOutPerSec)} msgs/s, ${fmt(f.brokerFramesOutPerSec)} frames/s, ${fmt(f.brokerBytesOutMBPerSec)} MB/s (from /metrics${mesh ? ', summed over the brokers' : ''})`,
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

/**
 * CPU per publish, in microseconds of each process's CPU time: the load generator's, the single
 * broker's, each mesh broker's. Where the machine is the limit (both runs CPU-bound on the same
 * cores) deliveries go as the inverse of the CPU every publish costs all processes together, so
 * the mesh can reach at most `ceiling` = (generator + single broker) / (generator + mesh brokers)
 * of the single broker's deliveries on this machine; `brokersFor09` is what the mesh brokers
 * together may spend per publish for 0.9x. With a core per process instead, each run would go as
 * its busiest process (the most CPU per publish), so `perCore` = single's busiest / mesh's busiest
 * is what the same figures project there, and `perCore.brokersOnly` the same for the brokers alone
 * (with a load generator that is never the busiest) — projections (batching changes with load),
 * not measurements. Null where a figure is missing.
 */
export function cpuPerPublish(single, mesh) {
  const us = (pct, perSec) => (pct == null || !perSec ? null : Math.round((pct * 1e4) / perSec * 10) / 10);
  const generator = { single: us(single.clientProcessCpuPct, single.publishedPerSec), mesh: us(mesh.clientProcessCpuPct, mesh.publishedPerSec) };
  const singleBroker = us(single.brokerCpuPct, single.publishedPerSec);
  const brokers = Object.fromEntries(mesh.brokers.map((b) => [b.name, us(b.cpuPct, mesh.publishedPerSec)]));
  const values = Object.values(brokers);
  const meshBrokers = values.includes(null) ? null : Math.round(values.reduce((a, b) => a + b, 0) * 10) / 10;
  const known = [generator.single, generator.mesh, singleBroker, meshBrokers].every((x) => x !== null);
  return {
    generator,
    singleBroker,
    meshBrokers,
    brokers,
    ceiling: known ? Math.round(((generator.single + singleBroker) / (generator.mesh + meshBrokers)) * 100) / 100 : null,
    brokersFor09: known ? Math.round(((generator.single + singleBroker) / 0.9 - generator.mesh) * 10) / 10 : null,
    perCore: known
      ? { ...busiestRatio({ generator: generator.single, broker: singleBroker }, { generator: generator.mesh, ...brokers }), brokersOnly: busiestRatio({ broker: singleBroker }, brokers) }
      : null,
  };
}

/** The busiest process of each run (most CPU per publish) and the ratio single / mesh of their figures. */
function busiestRatio(single, mesh) {
  const busiest = (run) => Object.entries(run).reduce((a, b) => (b[1] > a[1] ? b : a));
  const [singleName, singleUs] = busiest(single);
  const [meshName, meshUs] = busiest(mesh);
  return { single: { process: singleName, us: singleUs }, mesh: { process: meshName, us: meshUs }, ratio: Math.round((singleUs / meshUs) * 100) / 100 };
}

/** --mesh: the two runs side by side, the mesh's figures relative to the single broker's, and the CPU budget. */
export function printComparison(header, single, mesh) {
  const c = header.config;
  const pub = mesh.brokers.find((b) => b.role === 'publisher').name;
  const sub = mesh.brokers.find((b) => b.role === 'subscribers').name;
  const ratio = (m, s) => (m === null || s === null || s === 0 ? 'n/a' : `${(m / s).toFixed(2)}x`);
  const ms = (x) => (x === null ? 'n/a' : x.toFixed(3));
  const rows = [
    ['', 'delivered msgs/s', 'published msgs/s', 'p50 ms', 'p99 ms', 'lost', 'dup'],
    ...[
      ['single broker', single],
      [`mesh (${pub} -> ${sub})`, mesh],
    ].map(([name, f]) => [name, fmt(f.deliveredPerSec), fmt(f.publishedPerSec), ms(f.latencyMs.p50), ms(f.latencyMs.p99), fmt(f.lost), fmt(f.duplicated)]),
    [
      'mesh / single',
      ratio(mesh.deliveredPerSec, single.deliveredPerSec),
      ratio(mesh.publishedPerSec, single.publishedPerSec),
      ratio(mesh.latencyMs.p50, single.latencyMs.p50),
      ratio(mesh.latencyMs.p99, single.latencyMs.p99),
      '',
      '',
    ],
  ];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r) => ('  ' + r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('   ')).trimEnd();
  const mode = c.rate === null ? `flow-controlled (window ${c.window})` : `paced at ${c.rate} msgs/s`;
  const out = [
    '',
    `Single broker vs ${mesh.brokers.length}-broker mesh — 1 publisher -> ${c.subscribers} subscribers, ${c.payloadBytes}-byte payloads, ${mode}, ${c.seconds} s measured each`,
    line(rows[0]),
    ...rows.slice(1).map(line),
  ];
  const cpu = cpuPerPublish(single, mesh);
  if (cpu.ceiling !== null) {
    out.push(
      `  CPU per publish (us): load generator ${cpu.generator.single} / ${cpu.generator.mesh}, single broker ${cpu.singleBroker}, mesh brokers ${cpu.meshBrokers} (${Object.entries(cpu.brokers).map(([n, v]) => `${n} ${v}`).join(', ')})`,
      `  where the machine is the limit the mesh reaches at most ${cpu.ceiling}x of the single broker here; 0.9x needs the mesh brokers at <= ${cpu.brokersFor09} us a publish together`,
      `  with a core per process (projected from these figures, not measured): busiest single ${cpu.perCore.single.process} ${cpu.perCore.single.us} us, mesh ${cpu.perCore.mesh.process} ${cpu.perCore.mesh.us} us -> about ${cpu.perCore.ratio}x; brokers alone: ${cpu.perCore.brokersOnly.single.us} us against ${cpu.perCore.brokersOnly.mesh.process} ${cpu.perCore.brokersOnly.mesh.us} us -> about ${cpu.perCore.brokersOnly.ratio}x`,
    );
  }
  out.push('');
  process.stdout.write(out.join('\n') + '\n');
}

/** The targets of the mesh comparison (docs/mesh.md, "Measured"): deliveries at least, p50 at most, of the single broker's. */
export const MESH_TARGETS = { deliveredPerSec: 0.9, latencyP50: 2 };

/**
 * --pairs: each ratio's lowest, median and highest over the pairs, and how many pairs met each
 * target and both. Pairs with a figure missing are left out of that figure.
 */
export function pairsSummary(pairs) {
  const spread = (values) => {
    const xs = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
    if (xs.length === 0) return null;
    const mid = xs.length >> 1;
    const median = xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
    return { min: xs[0], median: Math.round(median * 1000) / 1000, max: xs[xs.length - 1], n: xs.length };
  };
  const r = pairs.map((p) => p.meshVsSingle);
  const deliveries = (x) => x.deliveredPerSec !== null && x.deliveredPerSec >= MESH_TARGETS.deliveredPerSec;
  const p50 = (x) => x.latencyP50 !== null && x.latencyP50 <= MESH_TARGETS.latencyP50;
  return {
    pairs: pairs.length,
    targets: MESH_TARGETS,
    deliveredPerSec: spread(r.map((x) => x.deliveredPerSec)),
    latencyP50: spread(r.map((x) => x.latencyP50)),
    latencyP99: spread(r.map((x) => x.latencyP99)),
    ceiling: spread(r.map((x) => x.cpuPerPublishUs.ceiling)),
    singleBrokerUs: spread(r.map((x) => x.cpuPerPublishUs.singleBroker)),
    meshBrokersUs: spread(r.map((x) => x.cpuPerPublishUs.meshBrokers)),
    met: { deliveredPerSec: r.filter(deliveries).length, latencyP50: r.filter(p50).length, both: r.filter((x) => deliveries(x) && p50(x)).length },
  };
}

/** --pairs: one line per pair, then the spread of each ratio and how many pairs met the targets. */
export function printPairs(header, pairs, summary) {
  const x = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(2)}x`);
  const us = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(1));
  const rows = [
    ['pair', 'delivered', 'p50', 'p99', 'ceiling', 'single us', 'mesh us'],
    ...pairs.map((p, i) => {
      const r = p.meshVsSingle;
      return [String(i + 1), x(r.deliveredPerSec), x(r.latencyP50), x(r.latencyP99), x(r.cpuPerPublishUs.ceiling), us(r.cpuPerPublishUs.singleBroker), us(r.cpuPerPublishUs.meshBrokers)];
    }),
  ];
  const s = summary;
  const m = (f, fmt) => (f === null ? ['n/a', 'n/a', 'n/a'] : [fmt(f.min), fmt(f.median), fmt(f.max)]);
  const cols = [s.deliveredPerSec, s.latencyP50, s.latencyP99, s.ceiling].map((f) => m(f, x));
  const cpu = [s.singleBrokerUs, s.meshBrokersUs].map((f) => m(f, us));
  ['lowest', 'median', 'highest'].forEach((name, k) => rows.push([name, ...cols.map((c) => c[k]), ...cpu.map((c) => c[k])]));
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r) => ('  ' + r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('   ')).trimEnd();
  const t = s.targets;
  process.stdout.write(
    [
      '',
      `Mesh / single over ${s.pairs} pairs, run one after the other (${header.config.meshBrokers}-broker mesh, ${header.config.seconds} s measured each; brokers' CPU per publish in us)`,
      line(rows[0]),
      ...rows.slice(1).map(line),
      `  targets met: delivered >= ${t.deliveredPerSec}x in ${s.met.deliveredPerSec} of ${s.pairs} pairs, p50 <= ${t.latencyP50}x in ${s.met.latencyP50}, both in ${s.met.both}`,
      '',
    ].join('\n') + '\n',
  );
}
