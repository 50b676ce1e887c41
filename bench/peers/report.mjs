/**
 * The side-by-side report: from the header (machine, versions, options) and the run
 * records, one markdown document — the summary, Chorus's ratio to every other peer, then
 * one table per workload, each followed by the ratios of its main figure.
 */

const fmtInt = (x) => (x === null || x === undefined ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const fmtNum = (x, d = 3) => (x === null || x === undefined ? 'n/a' : String(Math.round(x * 10 ** d) / 10 ** d));
const fmtPct = (x) => (x === null || x === undefined ? 'n/a' : `${fmtNum(x, 1)}%`);
const fmtRatio = (x) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)}×`);
const cpu = (r) => (r.cpu === undefined ? 'n/a' : `${fmtNum(r.cpu.serverPct, 1)} / ${fmtNum(r.cpu.generatorPct, 1)}${(r.cpu.otherPct ?? 0) >= 10 ? ` (other ${fmtNum(r.cpu.otherPct, 1)})` : ''}`);

/** "0 / 0" gaps / duplicates where seqs were checked, else "—". */
const seqs = (r, peers) => (peers.find((p) => p.name === r.peer)?.seq ? `${fmtInt(r.gaps)} / ${fmtInt(r.duplicates)}` : '—');
const ratio = (r) =>
  r.deliveryRatio === null || r.deliveryRatio === undefined ? 'n/a' : `${r.deliveryRatio}${r.stillArriving ? ` (still arriving after ${r.drainS} s)` : ''}`;
const trouble = (r) => {
  const bits = [];
  if (r.errors > 0) bits.push(`${r.errors} errors (${r.firstError})`);
  if (r.disconnects > 0) bits.push(`${r.disconnects} disconnects`);
  if (r.failed > 0) bits.push(`${r.failed} failed to open (${r.firstError})`);
  if ((r.attempts?.length ?? 0) > 1) bits.push(`best of ${r.attempts.length} attempts (other processes: ${r.attempts.map((a) => (a.ok ? `${a.otherPct}%` : 'failed')).join(', ')})`);
  return bits.join('; ');
};

/** The main figure of each workload, and whether more is better. */
const MAIN = {
  W1: { label: 'delivered msg/s', get: (r) => r.deliveredPerSec, higherBetter: true },
  W2: { label: 'delivered msg/s', get: (r) => r.deliveredPerSec, higherBetter: true },
  W3: { label: 'p99 ms', get: (r) => r.latencyMs?.p99, higherBetter: false },
  W4: { label: 'RSS KiB per connection', get: (r) => r.rssPerConnKiB, higherBetter: false },
};

function table(headers, rows) {
  const align = headers.map((h, i) => (i === 0 ? '---' : h.endsWith('<') ? '---' : '---:'));
  const clean = headers.map((h) => h.replace(/<$/, ''));
  return [`| ${clean.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Rows Chorus peers, columns the other peers: chorus's figure / theirs. */
function ratioTable(records, peers, workload, what = MAIN[workload]) {
  const ok = records.filter((r) => r.workload === workload && r.ok);
  const chorus = ok.filter((r) => peers.find((p) => p.name === r.peer)?.chorus);
  const others = ok.filter((r) => !peers.find((p) => p.name === r.peer)?.chorus);
  if (chorus.length === 0 || others.length === 0) return '';
  const rows = chorus.map((c) => [
    c.peer,
    ...others.map((o) => {
      const a = what.get(c);
      const b = what.get(o);
      return a === null || a === undefined || b === null || b === undefined || b === 0 ? 'n/a' : fmtRatio(a / b);
    }),
  ]);
  const better = what.higherBetter ? 'above 1× = Chorus does more' : 'below 1× = Chorus is lower (better)';
  return `\nChorus ÷ each other peer, ${what.label} (${better}):\n\n${table(['', ...others.map((o) => `vs ${o.peer}`)], rows)}\n`;
}

function failedRow(r, width) {
  return [r.peer, `failed: ${String(r.error).split('\n')[0].slice(0, 160)}`, ...Array(width - 2).fill('')];
}

function w1Table(records, peers) {
  const headers = ['peer', 'delivered msg/s', 'publisher msg/s', 'delivery ratio', 'publisher paused: buffer / window', 'seq gaps / dups', 'CPU server / gen %', 'per-second delivered (k)<', 'problems<'];
  const rows = records.map((r) =>
    r.ok
      ? [r.peer, fmtInt(r.deliveredPerSec), fmtInt(r.publishedPerSec), ratio(r), `${fmtPct(r.pausedBufferPct)} / ${fmtPct(r.pausedWindowPct)}`, seqs(r, peers), cpu(r), (r.perSecondDelivered ?? []).map((x) => `${Math.round(x / 1000)}`).join(' '), trouble(r)]
      : failedRow(r, headers.length),
  );
  return table(headers, rows);
}

function w2Table(records, peers) {
  const headers = ['peer', 'delivered msg/s', 'publisher msg/s', 'delivery ratio', 'publisher paused: buffer / window', 'seq gaps / dups', 'CPU server / gen %', 'setup s', 'problems<'];
  const rows = records.map((r) =>
    r.ok ? [r.peer, fmtInt(r.deliveredPerSec), fmtInt(r.publishedPerSec), ratio(r), `${fmtPct(r.pausedBufferPct)} / ${fmtPct(r.pausedWindowPct)}`, seqs(r, peers), cpu(r), fmtNum(r.setupS, 1), trouble(r)] : failedRow(r, headers.length),
  );
  return table(headers, rows);
}

function w3Table(records, peers) {
  const headers = ['peer', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'samples', 'delivery ratio', 'publisher max schedule lag ms', 'seq gaps / dups', 'CPU server / gen %', 'problems<'];
  const rows = records.map((r) => {
    if (!r.ok) return failedRow(r, headers.length);
    const l = r.latencyMs ?? {};
    return [r.peer, fmtNum(l.p50), fmtNum(l.p90), fmtNum(l.p99), fmtNum(l.p999), fmtNum(l.max), fmtInt(l.samples), ratio(r), fmtNum(r.maxScheduleLagMs), seqs(r, peers), cpu(r), trouble(r)];
  });
  return table(headers, rows);
}

function w4Table(records) {
  const headers = ['peer', 'connections opened', 'server RSS before → after (MiB)', 'RSS KiB/conn', 'open all (s)', 'connects/s', 'CPU server / gen % during open', 'problems<'];
  const mib = (k) => (k === null || k === undefined ? 'n/a' : (k / 1024).toFixed(1));
  const rows = records.map((r) =>
    r.ok ? [r.peer, `${fmtInt(r.opened)} / ${fmtInt(r.connections)}`, `${mib(r.rssBeforeKiB)} → ${mib(r.rssAfterKiB)}`, fmtNum(r.rssPerConnKiB, 2), fmtNum(r.openSeconds, 3), fmtInt(r.connectsPerSec), cpu(r), trouble(r)] : failedRow(r, headers.length),
  );
  return table(headers, rows);
}

function summaryTable(records, peers, workloads) {
  const names = [...new Set(records.map((r) => r.peer))];
  const get = (peer, w) => records.find((r) => r.peer === peer && r.workload === w);
  const cols = [];
  if (workloads.includes('W1')) cols.push(['W1 delivered msg/s', (r) => fmtInt(r.deliveredPerSec), 'W1'], ['W1 publisher msg/s', (r) => fmtInt(r.publishedPerSec), 'W1']);
  if (workloads.includes('W2')) cols.push(['W2 delivered msg/s', (r) => fmtInt(r.deliveredPerSec), 'W2']);
  if (workloads.includes('W3')) cols.push(['W3 p50 / p99 / p99.9 ms', (r) => `${fmtNum(r.latencyMs?.p50)} / ${fmtNum(r.latencyMs?.p99)} / ${fmtNum(r.latencyMs?.p999)}`, 'W3']);
  if (workloads.includes('W4')) cols.push(['W4 RSS KiB/conn', (r) => fmtNum(r.rssPerConnKiB, 2), 'W4'], ['W4 open all (s)', (r) => fmtNum(r.openSeconds, 3), 'W4']);
  cols.push([
    'all delivered, no seq gap<',
    (peer) => {
      const mine = records.filter((r) => r.peer === peer);
      if (mine.some((r) => !r.ok)) return `${mine.filter((r) => !r.ok).length} run(s) failed`;
      const bad = mine.filter((r) => (r.deliveryRatio !== undefined && r.deliveryRatio !== null && r.deliveryRatio < 1) || r.gaps > 0 || r.duplicates > 0);
      return bad.length === 0 ? 'yes' : `no: ${bad.map((r) => `${r.workload} ratio ${r.deliveryRatio}${peers.find((p) => p.name === peer)?.seq ? `, gaps ${r.gaps}, dups ${r.duplicates}` : ''}`).join('; ')}`;
    },
    null,
  ]);
  const rows = names.map((peer) => [
    peer,
    ...cols.map(([, f, w]) => {
      if (w === null) return f(peer);
      const r = get(peer, w);
      return r === undefined ? '—' : r.ok ? f(r) : 'failed';
    }),
  ]);
  return table(['peer', ...cols.map(([h]) => h)], rows);
}

/** Every Chorus peer against every other peer, one row per pair, one column per workload's main figure. */
function ratioSummary(records, peers, workloads) {
  const ok = records.filter((r) => r.ok);
  const isChorus = (name) => peers.find((p) => p.name === name)?.chorus;
  const chorusNames = [...new Set(ok.filter((r) => isChorus(r.peer)).map((r) => r.peer))];
  const otherNames = [...new Set(ok.filter((r) => !isChorus(r.peer)).map((r) => r.peer))];
  if (chorusNames.length === 0 || otherNames.length === 0) return '';
  const figures = [
    ['W1', 'W1 delivered', MAIN.W1.get],
    ['W2', 'W2 delivered', MAIN.W2.get],
    ['W3', 'W3 p99', MAIN.W3.get],
    ['W4', 'W4 KiB/conn', MAIN.W4.get],
    ['W4', 'W4 open time', (r) => r.openSeconds],
  ].filter(([w]) => workloads.includes(w));
  const rows = [];
  for (const c of chorusNames) {
    for (const o of otherNames) {
      rows.push([
        `${c} ÷ ${o}`,
        ...figures.map(([w, , get]) => {
          const a = ok.find((r) => r.peer === c && r.workload === w);
          const b = ok.find((r) => r.peer === o && r.workload === w);
          const x = a === undefined ? null : get(a);
          const y = b === undefined ? null : get(b);
          return x === null || x === undefined || y === null || y === undefined || y === 0 ? 'n/a' : fmtRatio(x / y);
        }),
      ]);
    }
  }
  return `${table(['', ...figures.map(([, h]) => h)], rows)}\n\nDelivered: above 1× = Chorus delivers more. p99, KiB per connection and open time: below 1× = Chorus is lower (better).`;
}

export function renderMarkdown(h, records, peers) {
  const by = (w) => records.filter((r) => r.workload === w);
  const ws = h.options.workloads;
  const o = h.options;
  const out = [];
  out.push(`# Side-by-side results, ${h.date}`, '');
  out.push(
    `Generated by \`${h.command}\` at ${h.startedAt} (${Math.round(h.durationS)} s in all). ${h.pinned ? 'Each server pinned to core 0 (`taskset -c 0`; nats-server with GOMAXPROCS=1), the load generator process to core 1.' : 'Not pinned to cores (no taskset, fewer than 2 cores, or --no-pin).'} A fresh server for every run.`,
    '',
    `Machine: ${h.machine.cpu}, ${h.machine.cores} cores, ${h.machine.os}, ${h.machine.memGiB} GiB. Node ${h.node}. Chorus ${h.versions.chorus} at commit ${h.versions.commit}${h.versions.dirty ? ` (${h.versions.dirty})` : ''}; ${h.versions.nats ?? 'nats-server not installed'}; ${h.versions.mosquitto ?? 'mosquitto not installed'}; ws ${h.versions.ws}, msgpackr ${h.versions.msgpackr}.`,
    '',
  );
  out.push(`dist/ built at ${h.versions.distBuiltAt ?? 'unknown'}${h.versions.distChanged ? ' — **rebuilt during the run: the Chorus rows may mix two builds**' : ''}.`, '');
  if (h.skipped.length > 0) out.push(`Skipped: ${h.skipped.map((s) => `${s.peer} (${s.reason})`).join('; ')}.`, '');
  out.push(
    `Parameters: W1 ${o.w1Subscribers} subscribers of one topic, ${o.payload}-byte payloads, window ${o.w1Window} per subscriber; W2 ${o.w2Topics} topics over ${o.w2Connections} connections, window ${o.w2Window} in total; W1/W2 bursts of ${o.burst}, paused while bufferedAmount > ${o.bufferHigh} B (until < ${o.bufferLow} B); W3 ${o.w3Subscribers} subscribers at ${o.w3Rate} msg/s; W1–W3 ${o.warmup} s warm-up + ${o.seconds} s measured; W4 ${o.w4Connections} connections opened ${o.w4Batch} at a time, RSS read ${o.w4Settle} s after the last.`,
    '',
    `CPU: utime + stime from /proc/PID/stat over the measured window (W4: while opening), % of one core, server / load generator; "other" is what other processes used (softirq time, where loopback TCP is processed, left out) when it reached 10% of a core. A run during which other processes used 25% of a core or more was run again, up to ${o.retries} more times, and the least disturbed attempt kept. Delivery ratio: delivered ÷ (published × fan-out), counted once deliveries stopped. Seq gaps / dups: Chorus deliveries carry per-topic seqs, checked 1, 2, 3 … per subscriber (W2: per topic).`,
    '',
    '## Summary',
    '',
    summaryTable(records, peers, ws),
    '',
  );
  const rs = ratioSummary(records, peers, ws);
  if (rs !== '') out.push("### Chorus's ratio to each other peer", '', rs, '');
  const sections = {
    W1: ['## W1 fan-out (1 publisher → N subscribers of one topic)', w1Table],
    W2: ['## W2 many topics (one subscriber per topic, publisher round-robin)', w2Table],
    W3: ['## W3 latency (fixed rate; publisher and subscribers share one process and one clock)', w3Table],
    W4: ['## W4 idle connections (each subscribed to its own topic)', w4Table],
  };
  for (const w of ws) {
    const [title, render] = sections[w];
    out.push(title, '', render(by(w), peers), ratioTable(records, peers, w), '');
  }
  out.push(`Every figure of every run is in the .json file next to this one (runs[]).`, '');
  return out.join('\n');
}
