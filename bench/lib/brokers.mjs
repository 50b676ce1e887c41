/**
 * The brokers the benchmark starts: each one a child process (`dist/broker/main/cli.js`),
 * known by its PID, its JSON stdout events watched, its stderr tail kept for error
 * reports. A BrokerSet holds every broker started in one invocation so that the entry
 * (bench/fanout.mjs) can kill all of them by PID at the end, on error, on
 * SIGINT/SIGTERM/SIGHUP and when the watchdog fires, whatever phase it is in.
 * lib/mesh.mjs starts a 3-broker mesh on top of this.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BROKER_CLI_URL } from './common.mjs';

export const BROKER_CLI = fileURLToPath(BROKER_CLI_URL);

/** Broker flags that follow from the benchmark's options (larger limits for large payloads). */
export function brokerLimitArgs(opts) {
  // The benchmark measures the broker, not its per-connection rate limits: they are off.
  const rates = ['--rate-publishes', '0', '--rate-bytes', '0', '--rate-subscribes', '0'];
  // The default broker limit on publish data is 64 KiB of msgpack; raise it for larger payloads.
  return opts.payload + 8 > 64 * 1024
    ? [...rates, '--payload-bytes-max', String(opts.payload + 8), '--frame-bytes-max', String(Math.max(1024 * 1024, 2 * opts.payload + 4096))]
    : rates;
}

/** Node flags for a broker: --cpu-prof when --cpu-prof-dir is set (one profile per broker PID). */
export function brokerNodeFlags(opts) {
  return opts.cpuProfDir !== null ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
}

export class BrokerSet {
  /** onUnexpectedExit(broker, code, signal): a broker exited while not being stopped. */
  constructor(onUnexpectedExit) {
    this.onUnexpectedExit = onUnexpectedExit;
    this.all = [];
  }

  /** Spawns one broker; returns its handle (name, pid, child, events, stderr tail). */
  spawn(name, args, nodeFlags = []) {
    const child = spawn(process.execPath, [...nodeFlags, BROKER_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const broker = { name, child, pid: child.pid, stderr: '', events: [], listeners: new Set(), stopping: false, exited: false };
    this.all.push(broker);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      broker.stderr = (broker.stderr + chunk).slice(-8000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event === null || typeof event !== 'object') return;
      broker.events.push(event);
      if (broker.events.length > 200) broker.events.shift();
      for (const listener of broker.listeners) listener(event);
    });
    child.once('error', (err) => {
      broker.spawnError = err;
      for (const listener of broker.listeners) listener(null);
    });
    child.once('exit', (code, signal) => {
      broker.exited = true;
      for (const listener of broker.listeners) listener(null);
      if (!broker.stopping) this.onUnexpectedExit(broker, code, signal);
    });
    return broker;
  }

  /**
   * Resolves with the first stdout event of `broker` (already seen or to come) for which
   * match(event) is true; rejects if the broker exits first or after timeoutMs.
   */
  waitForEvent(broker, match, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const seen = broker.events.find(match);
      if (seen !== undefined) return resolve(seen);
      const done = (err, event) => {
        clearTimeout(timer);
        broker.listeners.delete(listener);
        if (err) reject(err);
        else resolve(event);
      };
      const listener = (event) => {
        if (event === null) return done(new Error(`broker ${broker.name} (pid ${broker.pid}) ${broker.spawnError ? `could not start: ${broker.spawnError.message}` : 'exited'} before ${what}`));
        if (match(event)) done(null, event);
      };
      const timer = setTimeout(() => done(new Error(`broker ${broker.name} (pid ${broker.pid}): no ${what} within ${timeoutMs / 1000} s`)), timeoutMs);
      broker.listeners.add(listener);
      if (broker.exited) listener(null);
    });
  }

  /** Waits for the broker's `listening` event; sets broker.port and broker.url from it. */
  async waitListening(broker, timeoutMs = 15_000) {
    const listening = await this.waitForEvent(broker, (e) => e.event === 'listening', timeoutMs, 'listening');
    broker.port = listening.port;
    broker.url = `ws://127.0.0.1:${listening.port}/ws`;
    broker.id = listening.broker ?? null;
    return listening;
  }

  alive(broker) {
    return !broker.exited && broker.child.exitCode === null && broker.child.signalCode === null;
  }

  /** SIGKILL every broker still running, by PID. Synchronous: safe in process.on('exit'). */
  killAllNow() {
    for (const broker of this.all) {
      broker.stopping = true;
      if (!this.alive(broker)) continue;
      try {
        process.kill(broker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM (lets a broker drain and write a --cpu-prof profile), SIGKILL after 5 s; all in parallel. */
  async stop(brokers = this.all) {
    await Promise.all(
      brokers.map(async (broker) => {
        broker.stopping = true;
        if (!this.alive(broker)) return;
        const exited = new Promise((resolve) => broker.child.once('exit', resolve));
        try {
          process.kill(broker.pid, 'SIGTERM');
        } catch {
          return;
        }
        const timer = setTimeout(() => {
          try {
            process.kill(broker.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** The stderr tails of every broker that wrote any, for an error report. */
  stderrReport() {
    return this.all
      .filter((b) => b.stderr.trim() !== '')
      .map((b) => `broker ${b.name} (pid ${b.pid}) stderr (tail):\n${b.stderr.slice(-2000)}`)
      .join('\n');
  }
}

/** Starts the single broker of the classic run: --port 0 on 127.0.0.1. */
export async function startSingleBroker(set, opts) {
  const broker = set.spawn('single', ['--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...brokerLimitArgs(opts)], brokerNodeFlags(opts));
  broker.role = 'publisher+subscribers';
  await set.waitListening(broker);
  return broker;
}
