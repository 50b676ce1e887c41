/**
 * Measuring the machine from the main thread: the monotonic clock, the kernel's clock
 * tick rate, CPU time of one process and of the whole machine from /proc, and the
 * broker's /metrics scrape; and sleep(), which paces the phases.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Monotonic ms, same clock in every thread of the process. */
export function monoMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function clockTicksPerSecond() {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(n) && n > 0) return n;
  } catch {
    // fall through
  }
  return 100;
}

/** utime + stime of a process, in clock ticks; null where /proc is not there. */
export function readProcTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

/** Busy and total clock ticks of the whole machine (all CPUs), from /proc/stat; null where absent. */
export function readMachineTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = f[3] + (f[4] ?? 0);
    return { busy: total - idle, total, steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}

/** Sums every series of each wanted metric (labels ignored), or takes one series named with its labels. */
export async function scrapeMetrics(port) {
  const wanted = [
    'chorus_messages_out_total',
    'chorus_messages_in_total',
    'process_cpu_seconds_total',
    'chorus_bytes_out_total',
    'chorus_frames_out_total',
    'chorus_slow_consumers_total',
    'chorus_cluster_link_bytes_total{direction="in"}',
  ];
  const out = Object.fromEntries(wanted.map((w) => [w, null]));
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m === null) continue;
      const key = `${m[1]}${m[2] ?? ''}` in out ? `${m[1]}${m[2] ?? ''}` : m[1];
      if (!(key in out)) continue;
      out[key] = (out[key] ?? 0) + Number(m[3]);
    }
  } catch {
    // leave nulls: the figures derived from them are reported as null
  }
  return out;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
