/**
 * The runtime around a broker in a group: the sans-I/O `BrokerNode` (the
 * core member and everything above it, broker/node) driven by a tick timer and
 * by broker links. Time goes in as ticks (caught up after a stall before
 * anything received is read), peer messages go in as they arrive, and what the
 * node asks is done: messages sent on the links, the links switched to a new
 * incarnation, views and primary-partition changes reported to the broker.
 *
 * Founding rule: the broker whose advertised address is first in the seed
 * list (or a broker with no other seed) asks the others first and founds a
 * group alone only if none answered within `foundAfterMs` — and only when
 * its process starts, never after an exclusion: an excluded broker may be
 * cut off from a group that lives on, and founding then would split the mesh
 * in two for good. Nor while another seed is alive but not answering: one
 * that accepts a TCP connection yet does not complete the link handshake is
 * a stalled broker (a paused process, an overloaded host) that may belong to
 * a group; founding is put off until it answers or is gone. Every other broker keeps asking to join, so brokers
 * started together form one group. A broker outside any primary view waits
 * (it never gives its incarnation up on a timer): when the partition heals
 * it is either flushed back in or told it was excluded — or it starts over when
 * the brokers of its view that came back as new incarnations leave it no primary
 * (core view.ts `noPrimaryAhead`).
 */
import { isIP, connect as tcpConnect } from 'node:net';
import type { CoreConfig, Member, MemberId, ViewRecord } from '../core/index.js';
import { Links } from '../transport/index.js';
import type { BrokerNode } from '../node/index.js';

/**
 * Core timing over real links, in 10 ms ticks: heartbeats every 100 ms, suspicion after 1.5 s of
 * silence (a loaded event loop or a GC pause must not look like a crash), no giving up an
 * incarnation on a timer; acks at the end of a turn, in up to 5 turns a tick or again at 4 KiB of
 * data (measured against game rooms' CPU and a mesh publish's latency: docs/mesh.md,
 * "Acknowledgements").
 */
export const meshCoreDefaults: Partial<CoreConfig> = {
  heartbeatTicks: 10,
  ackTicks: 0,
  ackBytes: 4096,
  ackRoundsPerTick: 5,
  suspectTicks: 150,
  retransmitTicks: 20,
  retryTicks: 50,
  isolatedTicksMax: Number.MAX_SAFE_INTEGER,
};

export interface ClusterNodeOptions {
  name: string;
  secret: string;
  host: string;
  port: number;
  /** The address other brokers dial for this one; default host:port. */
  advertise?: string;
  /** Cluster addresses `host:port` of the brokers to find the group through. */
  seeds: string[];
  /** TLS on links (mutual with a CA). */
  tls?: { cert: string; key: string; ca?: string };
  /** Finds the seeds again (DNS on Kubernetes), every `reseedMs`; the result replaces `seeds`. */
  reseed?: () => Promise<string[]>;
  /** Default 5000 ms. */
  reseedMs?: number;
  /** May found a group alone when its process starts (on Kubernetes: the pod with ordinal 0). Default: the first seed. */
  founder?: boolean;
  /** Length of a core tick, ms. Default 10. */
  tickMs?: number;
  /** How long the first seed asks around before founding a group alone, ms. Default 3000. */
  foundAfterMs?: number;
  /** The broker itself, sans-I/O. */
  node: BrokerNode;
  onPrimary(primary: boolean): void;
  /** This broker starts again as a new incarnation (after an exclusion): its copies start from nothing. */
  onIncarnation?(member: MemberId): void;
  onView?(view: ViewRecord): void;
  /** Copies this broker served its clients from were taken back: close every client session so they resume. */
  onResync?(reason: string): void;
  onRefused?(reason: string): void;
  /**
   * After every perform, once its link frames are queued: what it delivered to this broker's
   * clients is written in this pass of the event loop (gateway `flushSoon`), not after the next
   * pass's reads — a setImmediate queued inside one runs only in the next pass. Required: a
   * driver that forgot it would deliver a pass late without any test noticing.
   */
  onPerformed(): void;
  log?(event: string, fields: Record<string, unknown>): void;
}

export class ClusterNode {
  readonly links: Links;
  private timer: NodeJS.Timeout | undefined;
  private reseedTimer: NodeJS.Timeout | undefined;
  private seeds: string[];
  private foundTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly leaveWaiters: Array<() => void> = [];
  private tickedAt = performance.now();
  private performScheduled = false;

  constructor(private readonly options: ClusterNodeOptions) {
    this.seeds = [...options.seeds];
    this.links = new Links({
      self: options.node.id,
      secret: options.secret,
      host: options.host,
      port: options.port,
      ...(options.advertise === undefined ? {} : { advertise: options.advertise }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      onMessage: (from, value) => this.receive(from, value),
      ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
    });
  }

  /** The core member of the incarnation running now. */
  get member(): Member {
    return this.options.node.member;
  }

  get view(): ViewRecord | undefined {
    return this.options.node.view;
  }

  get isPrimary(): boolean {
    return this.options.node.isPrimary;
  }

  /** Views installed, for the metrics. */
  get viewsTotal(): number {
    return this.options.node.viewsTotal;
  }

  /** Listens on the cluster port and starts finding the group; resolves with the port. */
  async start(): Promise<number> {
    const port = await this.links.listen();
    await this.refreshSeeds();
    this.startFirstIncarnation();
    // What a client's publish (or a control) asks of the node leaves in this pass of the event loop, not at the next tick.
    this.options.node.onPending = () => this.performSoon();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 10);
    if (this.options.reseed !== undefined) {
      this.reseedTimer = setInterval(() => void this.refreshSeeds(), this.options.reseedMs ?? 5000);
      this.reseedTimer.unref();
    }
    return port;
  }

  private async refreshSeeds(): Promise<void> {
    if (this.options.reseed === undefined) return;
    try {
      const seeds = await this.options.reseed();
      if (seeds.length === 0) return;
      this.seeds = seeds;
      this.options.node.setContacts(seeds.filter((s) => s !== this.links.address));
    } catch (err) {
      this.options.log?.('cluster-seeds-unresolved', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Leaves the group gracefully (its messages flushed, at most `leaveTimeoutMs`), then closes the links. */
  async close(leaveTimeoutMs = 3000): Promise<void> {
    clearInterval(this.reseedTimer);
    clearTimeout(this.foundTimer);
    const node = this.options.node;
    const member = node.member;
    this.closing = true;
    node.setDraining();
    if (member.status === 'member') {
      node.leave();
      this.perform();
      const deadline = Date.now() + leaveTimeoutMs;
      // Ticks go on (the interval timer) until the view without this broker is installed.
      while (member.status === 'member' && Date.now() < deadline) await new Promise<void>((resolve) => this.leaveWaiters.push(resolve));
    }
    clearInterval(this.timer);
    node.stream.failPending('this broker is shutting down; publish again elsewhere');
    await this.links.close();
  }

  /**
   * The first incarnation asks the seeds; the founder founds a group alone if nobody answered in
   * time (see the header). Later incarnations (after an exclusion) only ask: the node starts them.
   */
  private startFirstIncarnation(): void {
    const node = this.options.node;
    const self = this.links.address;
    const others = this.seeds.filter((s) => s !== self);
    const first = this.options.founder ?? (this.seeds.length === 0 || this.seeds[0] === self);
    this.options.log?.('cluster-start', { member: node.id, address: self, seeds: this.seeds, founder: first });
    // Ask even with no contact yet: seeds found later through DNS are asked from then on.
    node.join(others);
    if (first) {
      const delay = others.length === 0 ? 0 : (this.options.foundAfterMs ?? 3000);
      const tryFounding = (): void => {
        void this.stalledSeeds(this.seeds.filter((s) => s !== self)).then((stalled) => {
          const member = node.member;
          if ((member.status !== 'joining' && member.status !== 'idle') || this.closing) return;
          if (stalled.length > 0) {
            this.options.log?.('cluster-found-deferred', { member: member.id, stalled });
            this.foundTimer = setTimeout(tryFounding, Math.max(delay, 1000));
            return;
          }
          this.options.log?.('cluster-found', { member: member.id });
          node.found();
          this.perform();
        });
      };
      this.foundTimer = setTimeout(tryFounding, delay);
    }
    this.perform();
  }

  /** Seeds that accept a TCP connection but have no authenticated link: alive, yet not answering. */
  private async stalledSeeds(seeds: readonly string[]): Promise<string[]> {
    const probes = seeds.map(async (address) => {
      if (this.links.authenticatedAt(address)) return undefined;
      return (await tcpReachable(address, 500, (host) => this.links.sourceFor(host))) ? address : undefined;
    });
    return (await Promise.all(probes)).filter((a): a is string => a !== undefined);
  }

  /** Length of a core tick, ms. */
  get tickMs(): number {
    return this.options.tickMs ?? 10;
  }

  /**
   * Core time follows real time: a timer that fired late (a stalled event loop, a paused
   * process) is caught up tick by tick before anything received meanwhile is read, so a broker
   * that was stopped past the suspicion timeout suspects its peers before it delivers anything.
   */
  private tick(perform = true): void {
    for (const wake of this.leaveWaiters.splice(0)) wake();
    const tickMs = this.options.tickMs ?? 10;
    const due = Math.floor((performance.now() - this.tickedAt) / tickMs);
    if (due <= 0) return;
    this.tickedAt += due * tickMs;
    for (let i = 0; i < Math.min(due, 100_000); i++) this.options.node.tick();
    if (perform) this.perform();
  }

  private receive(from: string, value: unknown): void {
    // Time first: after a stall, what arrived meanwhile is read only once the ticks are caught up.
    this.tick(false);
    this.options.node.receive(from, value);
    this.performSoon();
  }

  /**
   * Everything that arrived in one pass of the event loop — link frames, client publishes — is
   * answered together once the pass has read it all (`setImmediate` runs after the loop's I/O
   * callbacks): one batch per peer instead of a frame per message read. Under load a sequencer
   * reading fifty order requests in one pass sends them on as one batch, and a broker outside the
   * stream's audience gets their stubs as one run (core/stub-runs.ts) — at a cost of no tick, only
   * the rest of the pass.
   */
  private performSoon(): void {
    if (this.performScheduled) return;
    this.performScheduled = true;
    setImmediate(() => {
      this.performScheduled = false;
      this.perform();
    });
  }

  /** Does what the node asks, in order. */
  private perform(): void {
    this.performActions();
    this.options.onPerformed();
  }

  private performActions(): void {
    // A message the core sends to several peers (a sequenced data message to its audience, a
    // heartbeat to all) is one object: encoded once per perform. The core never changes a message
    // once it has made its send action — code that runs between two sends (a callback below
    // closing sessions, which multicasts) makes new ones — and the simulators freeze every message
    // sent, so a change would throw there (test/sim/network.ts).
    const frames = new Map<unknown, Uint8Array>();
    for (const action of this.options.node.drain()) {
      switch (action.kind) {
        case 'send':
          this.links.send(action.to, action.message, frames);
          break;
        case 'incarnation':
          this.links.setSelf(action.id);
          this.options.log?.('cluster-start', { member: action.id, address: this.links.address, seeds: this.seeds, founder: false });
          this.options.onIncarnation?.(action.id);
          break;
        case 'primary':
          this.options.onPrimary(action.primary);
          break;
        case 'resync':
          this.options.log?.('cluster-resync', { reason: action.reason });
          this.options.onResync?.(action.reason);
          break;
        case 'view':
          this.options.onView?.(action.view);
          break;
        default: {
          const never: never = action;
          throw new Error(`unhandled action ${JSON.stringify(never)}`);
        }
      }
    }
  }
}

/**
 * Whether something accepts a TCP connection at `address` (host:port) within `timeoutMs`, dialed
 * from the address links are dialed from.
 */
function tcpReachable(address: string, timeoutMs: number, sourceFor: (host: string) => string | undefined): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  const from = sourceFor(host);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, ...(from === undefined ? {} : { localAddress: from, family: isIP(from) }) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
