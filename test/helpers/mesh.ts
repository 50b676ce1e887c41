/**
 * A mesh of real broker processes on loopback for a test: started with a core log each, clients
 * closed and brokers killed after the test, and then the property checker run over every broker's
 * core log (docs/core.md). A failing check keeps the logs and says where.
 *
 * Every broker's links run through a network the test owns (link-proxy.ts, which explains the
 * addressing): broker i listens on a loopback address of its own, `mesh.net.host(i)`, and is
 * dialed by the others through its proxy, so a test cuts links with `mesh.net.cut(a, b)`,
 * `isolate(i)`, `bridge(sideA, sideB)`, `partition(...)` and `heal()` — the product has no fault
 * hook of its own. Client and cluster ports stay the same across a restart (`restart(i)`, or a
 * test's own `startBrokerProcess(mesh.argsOf[i])`), so clients' URL lists and the seed list stay
 * valid. No vitest import here: the chaos run (test/chaos) uses this harness from a plain script.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '../../broker/core/index.js';
import { connect, type Client, type ConnectOptions } from '../../client/index.js';
import { checkRun, formatViolations, type Violation } from '../sim/checker.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';
import { MeshNet } from './link-proxy.js';

/** Matches log events stamped from now on (brokers log the same kinds of event while the mesh forms). */
export function since(): (event: Record<string, unknown>) => boolean {
  const now = new Date().toISOString();
  return (event) => (event['ts'] as string) >= now;
}

export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, host, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** How long after a view change a broker's own re-sent abcasts are given before its log counts as whole (`cutSoonAfterView`). */
const viewSettleMs = 2000;

export class MeshHarness {
  brokers: BrokerProcess[] = [];
  /** How each broker was started, to start it again (same address and ports). */
  argsOf: string[][] = [];
  /** The environment each broker was started with. */
  envOf: Record<string, string> = {};
  /** Member ids killed with -9 in a test: their logs end without saying so; the checker is told. */
  killed: string[] = [];
  /** The network between the brokers (cuts, isolation, partitions); see link-proxy.ts. */
  net!: MeshNet;
  private clients: Client[] = [];
  logDir = '';

  /**
   * Starts `size` brokers (`extra` flags for each) and waits until they share one view. Ports are
   * found free and then bound by the brokers, so something else can take one in between: that
   * start is undone and tried again on fresh ports (at most three times).
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
    const net = new MeshNet(size);
    // Each broker's own address: its client port and its (proxied) cluster port.
    const ports = await Promise.all(Array.from({ length: size }, (_, i) => freePorts(2, net.host(i))));
    await net.start(ports.map((p) => p[1]!));
    this.net = net;
    const seeds = Array.from({ length: size }, (_, i) => net.address(i)).join(',');
    this.logDir = mkdtempSync(join(tmpdir(), 'chorus-mesh-'));
    this.envOf = env;
    this.argsOf = ports.map(([clientPort, clusterPort], i) => [
      '--name', `b${i}`, '--host', net.host(i), '--port', String(clientPort), '--cluster-port', String(clusterPort), '--cluster-advertise', net.address(i),
      '--seeds', seeds, '--cluster-secret', 'mesh-test-secret', '--core-log', join(this.logDir, `b${i}.jsonl`), ...extra,
    ]);
    const started = await Promise.allSettled(this.argsOf.map((_, i) => this.spawn(i)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(started.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop('SIGKILL')] : [])));
      await net.close();
      rmSync(this.logDir, { recursive: true, force: true });
      this.logDir = '';
      throw failed.reason;
    }
    this.brokers = started.map((r) => (r as PromiseFulfilledResult<BrokerProcess>).value);
    await Promise.all(this.brokers.map((b) => b.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).length === size, 20_000, `a view of ${size}`)));
    return this.brokers;
  }

  /** Starts broker i's process (its proxy follows it: down when it exits). */
  private async spawn(i: number): Promise<BrokerProcess> {
    const b = await startBrokerProcess(this.argsOf[i]!, { env: this.envOf });
    b.child.once('exit', () => this.net.down(i));
    return b;
  }

  /** Starts broker i again (after it was stopped or killed), with the same address, ports and core log. */
  async restart(i: number): Promise<BrokerProcess> {
    const b = await this.spawn(i);
    this.brokers[i] = b;
    return b;
  }

  /** The member id broker i runs as now (its latest incarnation). */
  async memberOf(i: number): Promise<string> {
    await this.brokers[i]!.waitForEvent((e) => e['event'] === 'cluster-start', 5000, `b${i} id`);
    return this.brokers[i]!.latest((e) => e['event'] === 'cluster-start')!['member'] as string;
  }

  /** Kills broker i with -9 (the checker is told its log ends without a leave). */
  async kill(i: number): Promise<void> {
    this.killed.push(await this.memberOf(i));
    await this.brokers[i]!.stop('SIGKILL');
  }

  async client(urls: string | string[], options: ConnectOptions = {}): Promise<Client> {
    const c = await connect(urls, { reconnect: { delayMinMs: 20, delayMaxMs: 300 }, ...options });
    this.clients.push(c);
    return c;
  }

  /**
   * The brokers about to be killed whose last view is younger than `viewSettleMs`: a total or group
   * message each sent before that view change may still be on its way in it (the core hands such a
   * request to the new view's sequencer at the install, and again every 2 × `retransmitTicks`, 400
   * ms in a mesh, until it is sequenced), so the checker does not ask for its delivery there
   * (RunLogs.cut). Older views have had that time: D5 whole.
   */
  private cutSoonAfterView(): Set<string> {
    const cut = new Set<string>();
    const now = Date.now();
    for (const b of this.brokers) {
      const member = b.latest((e) => e['event'] === 'cluster-start')?.['member'];
      const viewAt = b.latest((e) => e['event'] === 'cluster-view')?.['ts'];
      if (typeof member === 'string' && typeof viewAt === 'string' && now - Date.parse(viewAt) < viewSettleMs) cut.add(member);
    }
    return cut;
  }

  /** Closes clients and the network, kills brokers, and returns the property checker's violations over every core log. */
  async stopAndCheck(): Promise<{ violations: Violation[]; members: number; unknownSources: number }> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
    this.clients = [];
    const cut = this.cutSoonAfterView();
    await Promise.all(this.brokers.map((b) => b.stop('SIGKILL')));
    this.brokers = [];
    const unknownSources = this.net?.unknownSources ?? 0;
    await this.net?.close();
    if (this.logDir === '') return { violations: [], members: 0, unknownSources };
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
    return { violations: checkRun({ logs, cut }), members: logs.size, unknownSources };
  }

  /** After each test: close clients, kill brokers, and check every core log (throws on a violation). */
  async finish(testName: string): Promise<void> {
    const dir = this.logDir;
    const { violations, members, unknownSources } = await this.stopAndCheck();
    if (dir === '') return;
    this.logDir = '';
    if (violations.length > 0) console.error(`${testName}: logs kept in ${dir}`);
    else if (process.env['CHORUS_KEEP_LOGS'] === undefined) rmSync(dir, { recursive: true, force: true });
    else console.error(`logs in ${dir}`);
    if (violations.length > 0) throw new Error(`property checker: ${formatViolations(violations)}`);
    if (members === 0) throw new Error('no core log was written');
    // A link dialed from an address that is no broker's own would not obey the cuts.
    if (unknownSources > 0) throw new Error(`${unknownSources} connections reached a link proxy from an address that is no broker's`);
  }
}
