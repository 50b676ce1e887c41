/**
 * A mesh of real broker processes on loopback for a test: started on free ports with a core log
 * each, clients closed and brokers killed after the test, and then the property checker run over
 * every broker's core log (PROPERTIES.md). A failing check keeps the logs and says where.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LogEntry } from '../../broker/core/index.js';
import { connect, type Client } from '../../client/index.js';
import { checkRun, formatViolations } from '../sim/checker.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';

/** Matches log events stamped from now on (brokers log the same kinds of event while the mesh forms). */
export function since(): (event: Record<string, unknown>) => boolean {
  const now = new Date().toISOString();
  return (event) => (event['ts'] as string) >= now;
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export class MeshHarness {
  brokers: BrokerProcess[] = [];
  /** How each broker was started, to start it again (same ports). */
  argsOf: string[][] = [];
  /** Member ids killed with -9 in a test: their logs end without saying so; the checker is told. */
  killed: string[] = [];
  private clients: Client[] = [];
  private logDir = '';

  /**
   * Starts `size` brokers (`extra` flags for each) and waits until they share one view. Ports are
   * found free and then bound by the brokers, so another test running beside this one can take
   * one in between: that start is undone and tried again on fresh ports (at most three times).
   */
  async start(size: number, env: Record<string, string> = {}, extra: string[] = []): Promise<BrokerProcess[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce(size, env, extra);
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
      }
    }
  }

  private async startOnce(size: number, env: Record<string, string>, extra: string[]): Promise<BrokerProcess[]> {
    const ports = await freePorts(size * 2);
    const seeds = ports.slice(0, size).map((p) => `127.0.0.1:${p}`).join(',');
    this.logDir = mkdtempSync(join(tmpdir(), 'chorus-mesh-'));
    this.argsOf = ports.slice(0, size).map((p, i) => [
      '--name', `b${i}`, '--port', String(ports[size + i]), '--cluster-port', String(p), '--seeds', seeds, '--cluster-secret', 'mesh-test-secret', '--core-log', join(this.logDir, `b${i}.jsonl`), ...extra,
    ]);
    const started = await Promise.allSettled(this.argsOf.map((args) => startBrokerProcess(args, { env })));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(started.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop('SIGKILL')] : [])));
      rmSync(this.logDir, { recursive: true, force: true });
      this.logDir = '';
      throw failed.reason;
    }
    this.brokers = started.map((r) => (r as PromiseFulfilledResult<BrokerProcess>).value);
    await Promise.all(this.brokers.map((b) => b.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).length === size, 20_000, `a view of ${size}`)));
    return this.brokers;
  }

  async client(urls: string | string[]): Promise<Client> {
    const c = await connect(urls, { reconnect: { delayMinMs: 20, delayMaxMs: 300 } });
    this.clients.push(c);
    return c;
  }

  /** After each test: close clients, kill brokers, and check every core log. */
  async finish(testName: string): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
    this.clients = [];
    await Promise.all(this.brokers.map((b) => b.stop('SIGKILL')));
    this.brokers = [];
    if (this.logDir === '') return;
    const logs = new Map<string, LogEntry[]>();
    for (const file of readdirSync(this.logDir)) {
      for (const line of readFileSync(join(this.logDir, file), 'utf8').split('\n')) {
        if (line === '') continue;
        const entry = JSON.parse(line) as LogEntry;
        const list = logs.get(entry.member) ?? [];
        list.push(entry);
        logs.set(entry.member, list);
      }
    }
    for (const id of this.killed) logs.get(id)?.push({ kind: 'crash', member: id });
    this.killed = [];
    const violations = checkRun({ logs });
    if (violations.length > 0) console.error(`${testName}: logs kept in ${this.logDir}`);
    else if (process.env['CHORUS_KEEP_LOGS'] === undefined) rmSync(this.logDir, { recursive: true, force: true });
    else console.error(`logs in ${this.logDir}`);
    this.logDir = '';
    expect(formatViolations(violations)).toBe('no violations');
    expect(logs.size).toBeGreaterThan(0);
  }
}
