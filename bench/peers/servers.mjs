/**
 * The servers of the side-by-side comparison, each a child process pinned to core 0
 * (`taskset -c 0`, which execs the server: the child's PID is the server's):
 *   - chorus: dist/broker/main/cli.js on a free port, the per-connection policies that
 *     would measure a limit instead of the broker switched off (rates, connection caps);
 *   - rawws / rawws-batched: rawws-server.mjs;
 *   - nats: nats-server with a generated config in a temp dir (WebSocket listener and a
 *     loopback TCP listener), GOMAXPROCS=1;
 *   - mosquitto: mosquitto with a generated config (TCP and WebSocket listeners).
 * Procs keeps every child this process started (servers and load generators) so that
 * the entry kills each by PID at the end, on error, on signals and from watchdogs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from '../lib/system.mjs';

const BROKER_CLI = fileURLToPath(new URL('../../dist/broker/main/cli.js', import.meta.url));
const RAWWS_SERVER = fileURLToPath(new URL('./rawws-server.mjs', import.meta.url));

const CHORUS_FLAGS = ['--rate-publishes', '0', '--rate-bytes', '0', '--rate-subscribes', '0', '--connections-per-ip', '100000', '--connections-max', '100000'];

/** An executable on PATH or in /usr/sbin, or null. */
export function findExecutable(name) {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return null;
}

/** null when the server can run here, else why not. */
export function serverAvailable(kind) {
  if (kind === 'chorus') return existsSync(BROKER_CLI) ? null : 'dist/ is missing (npm run build)';
  if (kind === 'nats') return findExecutable('nats-server') === null ? 'nats-server is not installed' : null;
  if (kind === 'mosquitto') return findExecutable('mosquitto') === null ? 'mosquitto is not installed' : null;
  return null;
}

/** Pinning: taskset and at least 2 CPUs, unless turned off. */
export function pinningAvailable(wanted) {
  if (!wanted) return false;
  if (os.cpus().length < 2) return false;
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

export class Procs {
  /** pin: taskset each child to its core; cpuProfDir: Node children run under --cpu-prof, profiles there (or null). */
  constructor(pin, cpuProfDir = null) {
    this.pin = pin;
    this.cpuProfDir = cpuProfDir;
    this.live = new Set();
  }

  /** The node flags of a Node child: --cpu-prof when profiling. */
  nodeFlags() {
    return this.cpuProfDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', this.cpuProfDir];
  }

  /** Spawns cmd on `core` (when pinning) and tracks it until it exits. */
  spawn(core, cmd, args, options) {
    const child = this.pin ? spawn('taskset', ['-c', String(core), cmd, ...args], options) : spawn(cmd, args, options);
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    child.once('error', () => this.live.delete(child));
    child.stderrTail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s) => (child.stderrTail = (child.stderrTail + s).slice(-4000)));
    return child;
  }

  /** SIGTERM, SIGKILL after graceMs; resolves once it has exited, to 'gone', 'SIGTERM' or 'SIGKILL' (what ended it). */
  async stop(child, graceMs = 3000) {
    if (child === undefined || child === null || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return 'gone';
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
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** A free loopback port (bound to 0 and released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; rejects after timeoutMs or if the child exits. */
async function waitPort(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening: ${child.stderrTail.trim().slice(-500)}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`not listening on ${port} within ${timeoutMs / 1000} s`);
}

/**
 * The first JSON stdout line with event "listening" (its port). Every later event is counted
 * by name in child.events (the Chorus broker logs slow-consumer closes and the like there).
 */
function waitListeningLine(child, timeoutMs) {
  child.events = {};
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within ${timeoutMs / 1000} s: ${child.stderrTail.trim().slice(-500)}`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before listening: ${child.stderrTail.trim().slice(-500)}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line);
        if (event?.event === 'listening') {
          clearTimeout(timer);
          resolve(event);
        } else if (typeof event?.event === 'string') {
          child.events[event.event] = (child.events[event.event] ?? 0) + 1;
        }
      } catch {
        // not JSON
      }
    });
  });
}

/** Starts one server; resolves to { kind, pid, url, child, cleanup() }. A server that does not come up is stopped. */
export async function startServer(kind, procs, timeoutMs = 15_000) {
  const before = new Set(procs.live);
  try {
    return await launch(kind, procs, timeoutMs);
  } catch (err) {
    await Promise.all([...procs.live].filter((c) => !before.has(c)).map((c) => procs.stop(c, 1000)));
    throw err;
  }
}

async function launch(kind, procs, timeoutMs) {
  switch (kind) {
    case 'chorus': {
      const child = procs.spawn(0, process.execPath, [...procs.nodeFlags(), BROKER_CLI, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...CHORUS_FLAGS], { stdio: ['ignore', 'pipe', 'pipe'] });
      const listening = await waitListeningLine(child, timeoutMs);
      child.stdout.resume();
      return { kind, pid: child.pid, child, url: `ws://127.0.0.1:${listening.port}/ws`, cleanup() {} };
    }
    case 'rawws':
    case 'rawws-batched': {
      const args = [...procs.nodeFlags(), RAWWS_SERVER, ...(kind === 'rawws-batched' ? ['--batched'] : [])];
      const child = procs.spawn(0, process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const listening = await waitListeningLine(child, timeoutMs);
      child.stdout.resume();
      return { kind, pid: child.pid, child, url: `ws://127.0.0.1:${listening.port}`, cleanup() {} };
    }
    case 'nats': {
      const [tcp, ws] = [await freePort(), await freePort()];
      const dir = mkdtempSync(join(os.tmpdir(), 'chorus-peers-nats-'));
      const conf = join(dir, 'nats.conf');
      writeFileSync(conf, `listen: "127.0.0.1:${tcp}"\nwebsocket {\n  host: "127.0.0.1"\n  port: ${ws}\n  no_tls: true\n}\n`);
      const child = procs.spawn(0, findExecutable('nats-server'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GOMAXPROCS: '1' } });
      const cleanup = () => rmSync(dir, { recursive: true, force: true });
      try {
        await waitPort(ws, child, timeoutMs);
      } catch (err) {
        cleanup();
        throw err;
      }
      return { kind, pid: child.pid, child, url: `ws://127.0.0.1:${ws}`, cleanup };
    }
    case 'mosquitto': {
      const [tcp, ws] = [await freePort(), await freePort()];
      const dir = mkdtempSync(join(os.tmpdir(), 'chorus-peers-mosquitto-'));
      const conf = join(dir, 'mosquitto.conf');
      const user = os.userInfo().username;
      writeFileSync(
        conf,
        [
          `user ${user}`,
          'allow_anonymous true',
          'persistence false',
          'connection_messages false',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          'set_tcp_nodelay true',
          `listener ${tcp} 127.0.0.1`,
          `listener ${ws} 127.0.0.1`,
          'protocol websockets',
          '',
        ].join('\n'),
      );
      const child = procs.spawn(0, findExecutable('mosquitto'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      const cleanup = () => rmSync(dir, { recursive: true, force: true });
      try {
        await waitPort(ws, child, timeoutMs);
      } catch (err) {
        cleanup();
        throw err;
      }
      return { kind, pid: child.pid, child, url: `ws://127.0.0.1:${ws}/mqtt`, cleanup };
    }
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

/** VmRSS of a process in KiB, or null. */
export function readRssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** The version line of each server kind that is installed. */
export function serverVersions() {
  const first = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? null;
  };
  const nats = findExecutable('nats-server');
  const mosq = findExecutable('mosquitto');
  return {
    nats: nats === null ? null : first(nats, ['--version']),
    mosquitto: mosq === null ? null : first(mosq, ['-h']),
  };
}

export { CHORUS_FLAGS };
