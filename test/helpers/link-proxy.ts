/**
 * The network between test brokers, owned by the test: one TCP proxy in front of each broker's
 * cluster listener, and a table of cut (from → to) pairs that every proxy obeys. Nothing in the
 * product knows about it — brokers are only started so that their links run through it.
 *
 * Addressing. Broker i gets a loopback address of its own, `host(i)` = 127.A.B.(10+i) (Linux
 * routes all of 127/8 to lo; A.B is random per mesh). Its client and cluster listeners bind it
 * (`--host`), and since a broker dials its links from its cluster host when that is one specific
 * address (broker/transport/links.ts `sourceFor`), every link and founding probe broker i opens
 * leaves from host(i). Its proxy listens on host(i) too, on a port of its own, and that address is
 * what the broker advertises (`--cluster-advertise`) and what the seed list names: every broker
 * dials broker i through proxy i, and proxy i knows who is dialing by the connection's source
 * address. So a connection through proxy j from host(k) carries k → j in one direction and
 * j → k in the other, and the cut table says, per direction and per chunk, whether bytes flow.
 *
 * What a cut does: it is a blackhole, not a close. Bytes written across a cut do not arrive while
 * it lasts; they are held (in order) and delivered when it heals, as TCP's retransmissions would
 * deliver them once the path is back — so a broker learns of a partition only by silence (its
 * failure detector), never by a closed link, and the core must cope with old messages arriving
 * late after the heal, as on a real network. A close (FIN, or the process dying) does not cross a
 * cut either: it is delivered after the held bytes at the heal. A new connection across a cut is
 * accepted by the proxy (nothing else is possible without a firewall) but not passed on to its
 * broker until the heal: the dialer sees a connection that never answers its handshake and gives
 * up after its handshake timeout, as it would after a SYN into a partition. A clean close would
 * be a signal real partitions do not give (and was never how a partition looked to the product).
 *
 * Founding rule. A seed probes the others with a TCP connect and defers founding while one
 * accepts but does not answer (cluster-node.ts). A proxy that accepts while its broker is down
 * would make a restarted first seed wait forever, so each proxy mirrors its broker: it stops
 * listening when the broker is known down (`down(i)`, called when the process exits, or when a
 * connection to the broker is refused) and listens again, on the same address and port, once the
 * broker's cluster port accepts again (polled every 100 ms while down). A stopped (SIGSTOP) broker
 * still accepts TCP in its kernel, so its proxy stays up, as its host would. One difference from a
 * real partition remains: a broker cut off from everyone still sees its peers' proxies accept a
 * TCP connect, so a restarted first seed that is cut off from every other broker defers founding
 * instead of founding alone (the safe side; on a real network it would found, docs/mesh.md).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One direction of a proxied connection: bytes (and a close) held while the direction is cut. */
interface Direction {
  held: Buffer[];
  /** The source closed while the direction was cut: close the destination after the held bytes. */
  closeHeld: boolean;
}

interface Proxied {
  from: number;
  client: Socket;
  upstream: Socket | undefined;
  /** client → upstream (from → target) and upstream → client (target → from). */
  forward: Direction;
  backward: Direction;
  /** Bytes from the client that arrived before the upstream connection was made (a connection across a cut). */
  early: Buffer[];
  dead: boolean;
}

export class MeshNet {
  readonly prefix: string;
  readonly proxies: LinkProxy[] = [];
  /** Cut directions, `${from}>${to}`. */
  private readonly cuts = new Set<string>();
  /** Connections from an address that is no broker's (counted; never cut). */
  unknownSources = 0;

  constructor(readonly size: number) {
    const r = (n: number): number => Math.floor(Math.random() * n);
    this.prefix = `127.${10 + r(240)}.${r(256)}`;
  }

  host(i: number): string {
    return `${this.prefix}.${10 + i}`;
  }

  /** Which broker an address belongs to, or -1. */
  indexOf(address: string | undefined): number {
    const ip = (address ?? '').replace(/^::ffff:/, '');
    if (!ip.startsWith(`${this.prefix}.`)) return -1;
    const i = Number(ip.slice(this.prefix.length + 1)) - 10;
    return i >= 0 && i < this.size ? i : -1;
  }

  /** Starts one proxy per broker (listening on host(i), an OS-chosen port) in front of `clusterPorts[i]`. */
  async start(clusterPorts: readonly number[]): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      const proxy = new LinkProxy(this, i, clusterPorts[i]!);
      await proxy.listen();
      this.proxies.push(proxy);
    }
  }

  /** The cluster address broker i advertises (its proxy). */
  address(i: number): string {
    return `${this.host(i)}:${this.proxies[i]!.port}`;
  }

  isCut(from: number, to: number): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  /** Cuts the link between a and b (both ways), or only a → b with `oneWay`. */
  cut(a: number, b: number, oneWay = false): void {
    this.cuts.add(`${a}>${b}`);
    if (!oneWay) this.cuts.add(`${b}>${a}`);
  }

  /** Restores the link between a and b (both ways), or only a → b with `oneWay`. */
  restore(a: number, b: number, oneWay = false): void {
    this.cuts.delete(`${a}>${b}`);
    if (!oneWay) this.cuts.delete(`${b}>${a}`);
    this.release();
  }

  /** Cuts broker i off from every other broker (its clients still reach it). */
  isolate(i: number): void {
    for (let j = 0; j < this.size; j++) if (j !== i) this.cut(i, j);
  }

  /** Cuts every link between side `a` and side `b`; brokers in neither (the bridge) hear both. */
  bridge(a: readonly number[], b: readonly number[]): void {
    for (const x of a) for (const y of b) this.cut(x, y);
  }

  /** Splits the brokers into sides that hear only their own side. */
  partition(...sides: number[][]): void {
    for (let s = 0; s < sides.length; s++) for (let t = s + 1; t < sides.length; t++) this.bridge(sides[s]!, sides[t]!);
  }

  /** Restores every link; what was held is delivered. */
  heal(): void {
    this.cuts.clear();
    this.release();
  }

  /** The cut pairs now, `a>b`. */
  cutPairs(): string[] {
    return [...this.cuts].sort();
  }

  /** Broker i is down (its process exited): its proxy stops listening until it is back. */
  down(i: number): void {
    this.proxies[i]?.down();
  }

  async close(): Promise<void> {
    this.cuts.clear();
    await Promise.all(this.proxies.map((p) => p.close()));
    this.proxies.length = 0;
  }

  private release(): void {
    for (const p of this.proxies) p.release();
  }
}

export class LinkProxy {
  port = 0;
  private server: Server | undefined;
  private readonly conns = new Set<Proxied>();
  private closed = false;
  private poll: NodeJS.Timeout | undefined;
  /** Connections passed through (for a test's own checks). */
  connections = 0;

  constructor(
    private readonly net: MeshNet,
    readonly index: number,
    private readonly upstreamPort: number,
  ) {}

  async listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.net.host(this.index), () => resolve());
    });
    server.on('error', () => {});
    // Marked down (or closed) while it was starting to listen: it must not stay up.
    if (this.server !== server || this.closed) {
      server.close();
      return;
    }
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : this.port;
  }

  /** The broker is down: stop listening (connects are refused, as at a dead broker) until its port accepts again. */
  down(): void {
    if (this.closed || this.poll !== undefined) return;
    this.server?.close();
    this.server = undefined;
    const check = (): void => {
      const probe = createConnection({ host: this.net.host(this.index), port: this.upstreamPort });
      probe.once('connect', () => {
        probe.destroy();
        this.poll = undefined;
        if (this.closed) return;
        // Back: the same address and port again (no one else binds this broker's own address).
        this.listen().catch(() => this.down());
      });
      probe.once('error', () => {
        probe.destroy();
        if (!this.closed) this.poll = setTimeout(check, 100);
      });
    };
    this.poll = setTimeout(check, 100);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.poll);
    for (const c of this.conns) this.kill(c);
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Delivers what cuts held back, on every direction no longer cut. */
  release(): void {
    for (const c of [...this.conns]) {
      if (c.dead) continue;
      if (c.upstream === undefined) {
        if (!this.crossesCut(c.from)) this.connectUpstream(c);
        continue;
      }
      this.flush(c, c.forward, this.net.isCut(c.from, this.index), c.upstream);
      this.flush(c, c.backward, this.net.isCut(this.index, c.from), c.client);
    }
  }

  private crossesCut(from: number): boolean {
    return from >= 0 && (this.net.isCut(from, this.index) || this.net.isCut(this.index, from));
  }

  private accept(client: Socket): void {
    const from = this.net.indexOf(client.remoteAddress);
    if (from < 0) this.net.unknownSources++;
    this.connections++;
    const c: Proxied = { from, client, upstream: undefined, forward: { held: [], closeHeld: false }, backward: { held: [], closeHeld: false }, early: [], dead: false };
    this.conns.add(c);
    client.setNoDelay(true);
    client.on('error', () => {});
    client.on('data', (chunk: Buffer) => {
      if (c.upstream === undefined) c.early.push(chunk);
      else this.pass(c, c.forward, from >= 0 && this.net.isCut(from, this.index), chunk, c.upstream);
    });
    client.on('close', () => {
      if (c.upstream === undefined) return this.kill(c);
      this.closeSide(c, c.forward, from >= 0 && this.net.isCut(from, this.index), c.upstream);
    });
    // A connection across a cut reaches its broker only once the cut heals (a SYN into a partition).
    if (!this.crossesCut(from)) this.connectUpstream(c);
  }

  private connectUpstream(c: Proxied): void {
    const upstream = createConnection({ host: this.net.host(this.index), port: this.upstreamPort });
    c.upstream = upstream;
    upstream.setNoDelay(true);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      for (const chunk of c.early.splice(0)) this.pass(c, c.forward, c.from >= 0 && this.net.isCut(c.from, this.index), chunk, upstream);
    });
    upstream.on('error', (err: Error & { code?: string }) => {
      if (!connected && err.code === 'ECONNREFUSED') this.down();
    });
    upstream.on('data', (chunk: Buffer) => this.pass(c, c.backward, c.from >= 0 && this.net.isCut(this.index, c.from), chunk, c.client));
    upstream.on('close', () => {
      if (!connected) return this.kill(c);
      this.closeSide(c, c.backward, c.from >= 0 && this.net.isCut(this.index, c.from), c.client);
    });
  }

  private pass(c: Proxied, d: Direction, cut: boolean, chunk: Buffer, to: Socket): void {
    if (c.dead) return;
    if (cut || d.held.length > 0 || d.closeHeld) d.held.push(chunk);
    else if (!to.destroyed) to.write(chunk);
  }

  private closeSide(c: Proxied, d: Direction, cut: boolean, to: Socket): void {
    if (c.dead) return;
    if (cut || d.held.length > 0) {
      d.closeHeld = true;
      return;
    }
    this.kill(c);
    void to;
  }

  private flush(c: Proxied, d: Direction, cut: boolean, to: Socket): void {
    if (cut || c.dead) return;
    for (const chunk of d.held.splice(0)) if (!to.destroyed) to.write(chunk);
    if (d.closeHeld) {
      // The close comes after what was written before it.
      d.closeHeld = false;
      to.end();
      setTimeout(() => this.kill(c), 50).unref();
    }
  }

  private kill(c: Proxied): void {
    if (c.dead) return;
    c.dead = true;
    this.conns.delete(c);
    c.client.destroy();
    c.upstream?.destroy();
  }
}
