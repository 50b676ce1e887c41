/**
 * The runtime around the core group: a `Member` driven by a tick timer and
 * by broker links, its actions performed — peer messages sent, deliveries
 * applied to the topics, state snapshots taken and restored, views and
 * primary-partition changes reported. When the member is excluded it comes
 * back as a new incarnation and joins again with state transfer.
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
 * it is either flushed back in or told it was excluded.
 */
import { connect as tcpConnect } from 'node:net';
import { Member, type CoreConfig, type LogEntry, type MemberId, type ViewRecord } from '../core/index.js';
import { Links } from '../transport/index.js';
import type { Topics } from '../topics/index.js';
import { ownersOf, type LwgTableSnapshot } from '../../lightweight-groups/index.js';
import type { MeshStream } from '../node/mesh-stream.js';
import type { Replicas } from '../node/replicas.js';
import { peerNote } from '../node/peer-notes.js';

/**
 * Core timing over real links, in 10 ms ticks: heartbeats every 100 ms, suspicion after 1.5 s of
 * silence (a loaded event loop or a GC pause must not look like a crash), no giving up an
 * incarnation on a timer.
 */
const meshCoreDefaults: Partial<CoreConfig> = {
  heartbeatTicks: 10,
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
  /** How long the first seed asks around before founding a group alone, ms. Default 1500. */
  foundAfterMs?: number;
  core?: Partial<CoreConfig>;
  topics: Topics;
  stream: MeshStream;
  replicas: Replicas;
  onPrimary(primary: boolean): void;
  /** This broker starts again as a new incarnation (after an exclusion): its copies start from nothing. */
  onIncarnation?(member: MemberId): void;
  onView?(view: ViewRecord): void;
  onRefused?(reason: string): void;
  log?(event: string, fields: Record<string, unknown>): void;
  /** The core group's own log (views, sends, deliveries), for the property checker. */
  coreLog?(entry: LogEntry): void;
}

export class ClusterNode {
  member: Member | undefined;
  readonly links: Links;
  private timer: NodeJS.Timeout | undefined;
  private reseedTimer: NodeJS.Timeout | undefined;
  private seeds: string[];
  private foundTimer: NodeJS.Timeout | undefined;
  private primary = false;
  private closing = false;
  private readonly leaveWaiters: Array<() => void> = [];
  /** Tests only: broker names whose links are cut (see Links.isBlocked). */
  private readonly blocked = new Set<string>();
  private tickedAt = performance.now();
  private sweptAt = 0;
  /** Views installed, for the metrics. */
  viewsTotal = 0;

  constructor(private readonly options: ClusterNodeOptions) {
    this.seeds = [...options.seeds];
    this.links = new Links({
      self: this.newId(),
      secret: options.secret,
      host: options.host,
      port: options.port,
      ...(options.advertise === undefined ? {} : { advertise: options.advertise }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      onMessage: (from, value) => this.receive(from, value),
      isBlocked: (peer) => this.blocked.size > 0 && this.blocked.has(peer.split('#')[0]!.split(':')[0]!) ,
      ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
    });
  }

  get view(): ViewRecord | undefined {
    return this.member?.status === 'member' ? this.member.view : undefined;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  /** Tests only: cut (or, with an empty list, restore) the links to these broker names. */
  setBlocked(names: readonly string[]): void {
    this.blocked.clear();
    for (const name of names) this.blocked.add(name);
  }

  /** Listens on the cluster port and starts finding the group; resolves with the port. */
  async start(): Promise<number> {
    const port = await this.links.listen();
    await this.refreshSeeds();
    this.startIncarnation();
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
      this.member?.setContacts(seeds.filter((s) => s !== this.links.address));
    } catch (err) {
      this.options.log?.('cluster-seeds-unresolved', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Leaves the group gracefully (its messages flushed, at most `leaveTimeoutMs`), then closes the links. */
  async close(leaveTimeoutMs = 3000): Promise<void> {
    clearInterval(this.reseedTimer);
    clearTimeout(this.foundTimer);
    const member = this.member;
    if (member !== undefined && member.status === 'member') {
      this.closing = true;
      member.leave();
      this.perform();
      const deadline = Date.now() + leaveTimeoutMs;
      // Ticks go on (the interval timer) until the view without this broker is installed.
      while (member.status === 'member' && Date.now() < deadline) await new Promise<void>((resolve) => this.leaveWaiters.push(resolve));
    }
    clearInterval(this.timer);
    this.options.stream.failPending('this broker is shutting down; publish again elsewhere');
    await this.links.close();
  }

  private newId(): MemberId {
    return `${this.options.name}#${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  }

  private startIncarnation(): void {
    const restart = this.member !== undefined;
    const id = restart ? this.newId() : this.linksSelf();
    if (restart) this.links.setSelf(id);
    if (restart) this.options.replicas.reset();
    if (restart) this.options.onIncarnation?.(id);
    const replicas = this.options.replicas.table.config.replicas;
    this.member = new Member({
      id,
      config: { ...meshCoreDefaults, ...this.options.core },
      // A lightweight group's stream is sequenced by its first owner.
      sequencerOf: (stream, members) => ownersOf(stream, members, replicas)[0]!,
      ...(this.options.coreLog === undefined ? {} : { onLog: this.options.coreLog }),
    });
    const self = this.links.address;
    const others = this.seeds.filter((s) => s !== self);
    const first = !restart && (this.options.founder ?? (this.seeds.length === 0 || this.seeds[0] === self));
    this.options.log?.('cluster-start', { member: id, address: self, seeds: this.seeds, founder: first });
    // Ask even with no contact yet: seeds found later through DNS are asked from then on.
    this.member.join(others);
    if (first) {
      clearTimeout(this.foundTimer);
      const delay = others.length === 0 ? 0 : (this.options.foundAfterMs ?? 3000);
      const tryFounding = (): void => {
        void this.stalledSeeds(this.seeds.filter((s) => s !== self)).then((stalled) => {
          const member = this.member;
          if (member === undefined || (member.status !== 'joining' && member.status !== 'idle') || this.closing) return;
          if (stalled.length > 0) {
            this.options.log?.('cluster-found-deferred', { member: member.id, stalled });
            this.foundTimer = setTimeout(tryFounding, Math.max(delay, 1000));
            return;
          }
          this.options.log?.('cluster-found', { member: member.id });
          member.found();
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
      return (await tcpReachable(address, 500)) ? address : undefined;
    });
    return (await Promise.all(probes)).filter((a): a is string => a !== undefined);
  }

  private linksSelf(): MemberId {
    return (this.links as unknown as { options: { self: string } }).options.self;
  }

  /**
   * Core time follows real time: a timer that fired late (a stalled event loop, a paused
   * process) is caught up tick by tick before anything received meanwhile is read, so a broker
   * that was stopped past the suspicion timeout suspects its peers before it delivers anything.
   */
  private tick(): void {
    for (const wake of this.leaveWaiters.splice(0)) wake();
    const tickMs = this.options.tickMs ?? 10;
    const due = Math.floor((performance.now() - this.tickedAt) / tickMs);
    if (due <= 0) return;
    this.tickedAt += due * tickMs;
    for (let i = 0; i < Math.min(due, 100_000); i++) this.member?.tick();
    this.perform();
    const now = Date.now();
    if (now - this.sweptAt >= 100) {
      this.sweptAt = now;
      this.options.replicas.tick();
      this.options.stream.tick(now);
    }
  }

  private receive(from: string, value: unknown): void {
    // Time first: after a stall, what arrived meanwhile is read only once the ticks are caught up.
    this.tick();
    const note = peerNote(value);
    if (note !== undefined) {
      try {
        if (note.kind === 'lwg-snap') this.options.replicas.onSnapshot(note);
        else this.options.replicas.onResult(note);
      } catch (err) {
        // A bug must cost this note, not the process (the load asks again).
        this.options.log?.('lwg-note-failed', { from, error: err instanceof Error ? err.message : String(err) });
      }
    } else {
      this.member?.receive(from, value as never);
    }
    this.perform();
  }

  /** Performs what the member asks, in order. */
  private perform(): void {
    const member = this.member;
    if (member === undefined) return;
    for (const action of member.drain()) {
      switch (action.kind) {
        case 'send':
          // One frame per message, not per batch: a turn's batch to one peer can be large, and the
          // link writes everything of a turn in one go anyway.
          if (action.message.kind === 'batch') for (const item of action.message.items) this.links.send(action.to, item);
          else this.links.send(action.to, action.message);
          break;
        case 'deliver':
          this.options.stream.deliver(action.delivery);
          break;
        case 'view':
          this.viewsTotal++;
          this.onView(action.view, action.left);
          break;
        case 'get-state':
          // A joiner gets the lightweight-group table; topics come to it by snapshots per group.
          member.stateReady({ lwg: this.options.replicas.table.snapshot() });
          break;
        case 'set-state': {
          const lwg = (action.state as { lwg?: unknown } | null)?.lwg;
          if (Array.isArray(lwg)) this.options.replicas.table.restore(lwg as LwgTableSnapshot);
          break;
        }
        case 'primary':
          this.setPrimary(action.primary);
          break;
        case 'stopped':
          this.options.log?.('cluster-stopped', { member: member.id, reason: action.reason });
          this.setPrimary(false);
          this.options.stream.failPending(`this broker was ${action.reason === 'left' ? 'leaving' : 'excluded from'} the group; publish again`);
          if (action.reason === 'excluded' && !this.closing) queueMicrotask(() => this.startIncarnation());
          return;
        case 'block':
        case 'unblock':
          break;
        default: {
          const never: never = action;
          throw new Error(`unhandled action ${JSON.stringify(never)}`);
        }
      }
    }
  }

  private onView(view: ViewRecord, left: MemberId[]): void {
    this.options.log?.('cluster-view', { view: view.id, members: view.members });
    // Presence entries of clients of brokers not in the view go, as leave events, at the same
    // point of every stream at every broker (a view change is ordered with every message). All
    // of them, not only those of brokers that just left: a joiner's snapshot was taken before
    // the coordinator dropped them.
    void left;
    this.dropDeparted();
    this.setPrimary(true);
    this.options.replicas.onView(view.members);
    this.options.onView?.(view);
  }

  /** Drops the presence of clients of brokers not in the view (also after a snapshot from an older view is loaded). */
  dropDeparted(): void {
    const members = this.view?.members;
    if (members === undefined) return;
    this.options.topics.table.dropPresence((session) => {
      const slash = session.lastIndexOf('/');
      return slash > 0 && !members.includes(session.slice(0, slash));
    });
  }

  private setPrimary(primary: boolean): void {
    if (primary === this.primary) return;
    this.primary = primary;
    this.options.onPrimary(primary);
  }
}

/** Whether something accepts a TCP connection at `address` (host:port) within `timeoutMs`. */
function tcpReachable(address: string, timeoutMs: number): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
