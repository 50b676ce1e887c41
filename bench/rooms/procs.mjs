/**
 * The processes of `--rooms` and what is read about them: every child (brokers, the load
 * generator) is spawned here, pinned with `taskset -c CORE` when pinning is on (taskset execs
 * the program, so the child's PID is the program's), kept until it exits, and killed by PID —
 * never by name. Also: each child's JSON stdout events, CPU ticks and RSS from /proc, the
 * machine's busy ticks, and a broker's /metrics.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { readProcTicks, sleep } from '../lib/system.mjs';

export { readProcTicks };

/** Pinning: taskset and at least 2 CPUs, unless turned off. */
export function pinningAvailable(wanted) {
  if (!wanted || os.cpus().length < 2) return false;
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

export class Procs {
  /** onUnexpectedExit(child, code, signal): a child exited that was not being stopped. */
  constructor(pin, onUnexpectedExit) {
    this.pin = pin;
    this.onUnexpectedExit = onUnexpectedExit;
    this.live = new Set();
  }

  /**
   * Spawns `cmd args` on `core` (when pinning); child.name, child.events (its JSON stdout lines,
   * the last 500), child.eventCounts (every event, by name), child.views (its `cluster-view`
   * events, the first 1,000), child.stderrTail, child.stopping. stdio: stdin/stdout/stderr/ipc.
   */
  spawn(name, core, cmd, args, stdio = ['ignore', 'pipe', 'pipe']) {
    const child = this.pin ? spawn('taskset', ['-c', String(core), cmd, ...args], { stdio }) : spawn(cmd, args, { stdio });
    child.name = name;
    child.events = [];
    child.eventCounts = {};
    child.views = [];
    child.listeners = new Set();
    child.stderrTail = '';
    child.stopping = false;
    this.live.add(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s) => (child.stderrTail = (child.stderrTail + s).slice(-8000)));
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        let event;
        try {
          event = JSON.parse(line);
        } catch {
          return;
        }
        if (event === null || typeof event !== 'object') return;
        if (typeof event.event === 'string') child.eventCounts[event.event] = (child.eventCounts[event.event] ?? 0) + 1;
        if (event.event === 'cluster-view' && child.views.length < 1000) child.views.push(event);
        child.events.push(event);
        if (child.events.length > 500) child.events.shift();
        for (const listener of child.listeners) listener(event);
      });
    }
    child.once('error', (err) => {
      child.spawnError = err;
      this.live.delete(child);
    });
    child.once('exit', (code, signal) => {
      this.live.delete(child);
      child.exitedWith = { code, signal };
      for (const listener of child.listeners) listener(null);
      if (!child.stopping) this.onUnexpectedExit(child, code, signal);
    });
    return child;
  }

  /** Resolves with the first event (seen or to come) that `match` accepts; rejects on exit or after timeoutMs. */
  waitForEvent(child, match, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const seen = child.events.find(match);
      if (seen !== undefined) return resolve(seen);
      const done = (err, event) => {
        clearTimeout(timer);
        child.listeners.delete(listener);
        if (err) reject(err);
        else resolve(event);
      };
      const listener = (event) => {
        if (event === null) return done(new Error(`${child.name} (pid ${child.pid}) exited before ${what}: ${child.stderrTail.trim().slice(-500)}`));
        if (match(event)) done(null, event);
      };
      const timer = setTimeout(() => done(new Error(`${child.name} (pid ${child.pid}): no ${what} within ${timeoutMs / 1000} s`)), timeoutMs);
      child.listeners.add(listener);
      if (child.exitedWith !== undefined) listener(null);
    });
  }

  /** SIGTERM, SIGKILL after graceMs; resolves to how it ended: 'gone', 'SIGTERM' or 'SIGKILL'. */
  async stop(child, graceMs = 5000) {
    child.stopping = true;
    if (child.exitedWith !== undefined || child.pid === undefined) return 'gone';
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      return 'gone';
    }
    let how = 'SIGTERM';
    const timer = setTimeout(() => {
      how = 'SIGKILL';
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
    return how;
  }

  /** SIGKILL every child still running, by PID. Synchronous: safe in process.on('exit'). */
  killAllNow() {
    for (const child of this.live) {
      child.stopping = true;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** VmRSS of a process in MiB, or null. */
export function readRssMiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Math.round(Number(m[1]) / 102.4) / 10;
  } catch {
    return null;
  }
}

/** The machine's busy ticks (all CPUs) and the part spent in interrupts (loopback TCP runs there, charged to no process). */
export function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: f[0] + f[1] + f[2] + f[5] + f[6] + f[7], irq: f[5] + f[6], steal: f[7] };
  } catch {
    return null;
  }
}

/** Waits (at most maxS) until the machine used under a quarter of a core over one second: others benchmark here too. */
export async function waitQuiet(maxS, ticksPerSecond) {
  const t0 = Date.now();
  let busyPct = null;
  do {
    const a = machineTicks();
    await sleep(1000);
    const b = machineTicks();
    if (a === null || b === null) return { waitedS: 0, busyPct: null };
    busyPct = Math.round(((b.busy - a.busy) / ticksPerSecond) * 1000) / 10;
    if (busyPct < 25) break;
  } while (Date.now() - t0 < maxS * 1000);
  return { waitedS: Math.round(Date.now() - t0) / 1000, busyPct };
}

/**
 * The named counters of a broker's /metrics, each summed over its series (null where absent or
 * unreachable); and for each name in `bySeries`, its series by their labels (`name{labels}`).
 */
export async function scrape(port, names, bySeries = []) {
  const out = Object.fromEntries(names.map((n) => [n, null]));
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m !== null && m[1] in out) out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
      if (m !== null && bySeries.includes(m[1])) out[`${m[1]}${m[2] ?? ''}`] = Number(m[3]);
    }
  } catch {
    // leave nulls
  }
  return out;
}
