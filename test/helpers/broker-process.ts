/**
 * Starts real broker processes (dist/broker/main/cli.js) on OS-chosen loopback
 * ports (or, `bare`, configured by their environment alone, as a container) and
 * stops them by PID — also when a test fails or the runner exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const cli = resolve(import.meta.dirname, '../../dist/broker/main/cli.js');
const live = new Set<ChildProcess>();
process.on('exit', () => killAllBrokers());

/** Kills every broker process this process started and that still runs (by PID; stopped ones too). */
export function killAllBrokers(): void {
  for (const child of live) child.kill('SIGKILL');
}

export interface BrokerProcess {
  url: string;
  httpUrl: string;
  port: number;
  pid: number;
  brokerId: string;
  child: ChildProcess;
  /** stderr so far, for failure messages. */
  stderr(): string;
  /** The last JSON log line seen so far that `match` accepts. */
  latest(match: (event: Record<string, unknown>) => boolean): Record<string, unknown> | undefined;
  /** Resolves with the first JSON log line (from now on, or already seen) that `match` accepts. */
  waitForEvent(match: (event: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited; kills it with `signal` first (default SIGTERM). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `cli.js` with `--host 127.0.0.1 --port 0 --log-level debug`, then `args`, in this
 * process's environment plus `env`. With `bare`, as a container starts it: `args` alone, and an
 * environment of PATH and `env` only (no CHORUS_* of this process's own leaks in).
 */
export async function startBrokerProcess(args: string[] = [], options: { timeoutMs?: number; env?: Record<string, string>; bare?: boolean } = {}): Promise<BrokerProcess> {
  const defaults = options.bare === true ? [] : ['--host', '127.0.0.1', '--port', '0', '--log-level', 'debug'];
  const child = spawn(process.execPath, [cli, ...defaults, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.bare === true ? { PATH: process.env['PATH'] ?? '', ...options.env } : { ...process.env, ...options.env },
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const events: Array<Record<string, unknown>> = [];
  const watchers = new Set<(event: Record<string, unknown>) => void>();
  lines.on('line', (line) => {
    try {
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      for (const w of [...watchers]) w(event);
    } catch {
      // not a JSON line
    }
  });
  const timeoutMs = options.timeoutMs ?? 15_000;
  const listening = await new Promise<Record<string, unknown>>((resolveListening, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening; stderr: ${stderr}`));
    });
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        if (event['event'] === 'listening') {
          clearTimeout(timer);
          resolveListening(event);
        }
      } catch {
        // not a JSON line
      }
    });
  });
  return {
    url: listening['url'] as string,
    httpUrl: listening['http'] as string,
    port: listening['port'] as number,
    pid: child.pid!,
    brokerId: listening['broker'] as string,
    child,
    stderr: () => stderr,
    latest: (match) => events.findLast(match),
    waitForEvent(match, timeoutMs, what) {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolveEvent, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last cluster events: ${clusterTail(events)}; stderr: ${stderr}`));
        }, timeoutMs);
        const watcher = (event: Record<string, unknown>): void => {
          if (!match(event)) return;
          clearTimeout(timer);
          watchers.delete(watcher);
          resolveEvent(event);
        };
        watchers.add(watcher);
      });
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

/** The broker's last few `cluster-*` log events, for a timeout's message (what it was doing instead). */
function clusterTail(events: readonly Record<string, unknown>[]): string {
  const tail = events.filter((e) => typeof e['event'] === 'string' && (e['event'] as string).startsWith('cluster-')).slice(-6);
  return tail.length === 0 ? 'none' : tail.map((e) => JSON.stringify(e)).join(' ');
}
