/**
 * Whole brokers in virtual time: each broker is the product's sans-I/O
 * `BrokerNode` (the core member, the topic table, the mesh stream and the
 * replicas), driven here as broker/mesh/cluster-node.ts drives it over links —
 * ticks, peer messages through the simulated network (delays, loss,
 * duplicates, partitions), crashes, pauses and restarts — with client
 * sessions attached to it as the gateway attaches them. Seeded: the same seed
 * gives the same run.
 */
import { decodeFrame, frameFromEncoded, type ServerMessage } from '../../../client/protocol/index.js';
import { FrameDecoder, encodeLinkFrame } from '../../../broker/transport/index.js';
import type { LogEntry, MemberId } from '../../../broker/core/index.js';
import { BrokerNode } from '../../../broker/node/node.js';
import type { TakeoverSettings } from '../../../broker/node/takeover-policy.js';
import type { ClaimSettings } from '../../../broker/node/claim-policy.js';
import { topicLimitsDefault, type Subscriber } from '../../../broker/topics/index.js';
import { SimNetwork, type FaultKnobs, type Partition } from '../network.js';

/** Milliseconds of broker time per tick (the mesh's core tick). */
export const tickMs = 10;

/**
 * Core timing in ticks, as the mesh runs it (suspicion after 1.5 s), shortened for the simulator;
 * `ackBytes` smaller than the mesh's 4096, so that the simulator's small commands take the path of
 * an ack round within a tick too.
 */
const coreConfig = { heartbeatTicks: 10, ackTicks: 0, ackBytes: 512, suspectTicks: 60, retransmitTicks: 20, retryTicks: 50, isolatedTicksMax: Number.MAX_SAFE_INTEGER };

/** A client session at a broker: what the broker sends it arrives through `deliver` (decoded here). */
export class SimSession implements Subscriber {
  closed = false;
  constructor(
    readonly id: string,
    readonly client: string,
    private readonly onMessage: (message: ServerMessage) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  deliver(encoded: Uint8Array): void {
    if (this.closed) return;
    const decoded = decodeFrame(frameFromEncoded([encoded], encoded.byteLength));
    if (!decoded.ok) throw new Error(`a broker sent an undecodable message (${decoded.reason})`);
    for (const m of decoded.messages) this.onMessage(m as ServerMessage);
  }
}

export interface SimBroker {
  name: string;
  incarnation: number;
  node: BrokerNode;
  alive: boolean;
  /** Draining after a SIGTERM: the process exits by this tick (`leave`). */
  exitAt?: number | undefined;
  pausedUntil: number;
  tickedAt: number;
  sessions: Set<SimSession>;
  /** Told when this broker sends its sessions away (primary lost, new incarnation, crash). */
  onSessionsClosed: Set<(session: SimSession) => void>;
}

export class World {
  readonly network: SimNetwork;
  readonly brokers = new Map<string, SimBroker>();
  readonly coreLogs = new Map<MemberId, LogEntry[]>();
  /** The nodes' own log lines (loads, losses …), for diagnosis. */
  readonly events: string[] = [];
  now = 0;
  private readonly deferred: Array<() => void> = [];
  private readonly held: Array<{ to: string; from: string; message: unknown }> = [];
  private timers: Array<{ at: number; fn: () => void }> = [];
  private readonly toPerform = new Set<SimBroker>();
  private sessionCount = 0;

  constructor(
    readonly random: () => number,
    knobs: FaultKnobs,
    /** Every broker's name: the seed list, the contacts a joining incarnation asks. */
    readonly names: readonly string[],
    readonly lwg = { lwgCount: 4, replicas: 2 },
    /** Core settings over the mesh's (e.g. `heartbeatAllMax: 0`: every view heartbeats in a star). */
    private readonly core: Partial<typeof coreConfig & { heartbeatAllMax: number; ackRoundsPerTick: number }> = {},
    /** Clients' requests of a tick are performed together, at `performRequests` (else each at once). */
    private readonly batching = false,
    /** When brokers take a group's stream over (the product's defaults unless given). */
    private readonly takeover?: Partial<TakeoverSettings>,
    /** When brokers claim a group to own it (the product's defaults unless given). */
    private readonly claim?: Partial<ClaimSettings>,
  ) {
    this.network = new SimNetwork(random, knobs, (id) => id.split('#')[0]!);
  }

  set partition(p: Partition) {
    this.network.partition = p;
  }

  /** Take-overs asked, and claims and withdrawals said, by brokers no longer running (`takeovers`, `claims`). */
  private takeoversEarlier = 0;
  private claimsEarlier = 0;

  /** Claims of a group and their withdrawals the brokers said, in the whole run. */
  get claims(): number {
    let said = this.claimsEarlier;
    for (const b of this.brokers.values()) said += b.node.replicas.claims.claimedTotal + b.node.replicas.claims.unclaimedTotal;
    return said;
  }

  /** Take-overs of a group's stream the brokers asked for, in the whole run. */
  get takeovers(): number {
    let asked = this.takeoversEarlier;
    for (const b of this.brokers.values()) asked += b.node.stream.takeovers.askedTotal;
    return asked;
  }

  /** Starts broker `name` (a new incarnation if it ran before); `found`: it founds the group alone. */
  start(name: string, found: boolean): SimBroker {
    const previous = this.brokers.get(name);
    if (previous !== undefined) {
      this.takeoversEarlier += previous.node.stream.takeovers.askedTotal;
      this.claimsEarlier += previous.node.replicas.claims.claimedTotal + previous.node.replicas.claims.unclaimedTotal;
    }
    let incarnation = previous?.incarnation ?? 0;
    const node = new BrokerNode({
      newId: () => {
        const id = `${name}#${++incarnation}`;
        const log: LogEntry[] = [];
        this.coreLogs.set(id, log);
        return id;
      },
      core: { ...coreConfig, ...this.core },
      lwg: this.lwg,
      topics: { limits: topicLimitsDefault, payloadBytesMax: 64 * 1024, presenceInfoBytesMax: 1024, topicBytesMax: 255, subscriptionsMax: 100 },
      now: () => this.now * tickMs,
      defer: (fn) => this.deferred.push(fn),
      coreLog: (entry) => this.coreLogs.get(entry.member)?.push(entry),
      log: (event, fields) => void this.events.push(`t${this.now} ${name} ${event} ${JSON.stringify(fields)}`),
      ...(this.takeover === undefined ? {} : { takeover: this.takeover }),
      ...(this.claim === undefined ? {} : { claim: this.claim }),
    });
    const broker: SimBroker = {
      name,
      incarnation,
      node,
      alive: true,
      pausedUntil: 0,
      tickedAt: this.now,
      sessions: new Set(),
      onSessionsClosed: previous?.onSessionsClosed ?? new Set(),
    };
    this.brokers.set(name, broker);
    // As the runtime does: every incarnation asks the other seeds; the founder founds only if
    // nobody answered (here: when told to).
    node.join(this.names.filter((n) => n !== name));
    if (found) node.found();
    this.perform(broker);
    return broker;
  }

  /** kill -9: the process and its sessions are gone at once. */
  crash(name: string): void {
    const broker = this.brokers.get(name);
    if (broker === undefined || !broker.alive) return;
    broker.alive = false;
    this.coreLogs.get(broker.node.id)?.push({ kind: 'crash', member: broker.node.id });
    this.closeSessions(broker);
  }

  /**
   * SIGTERM: the broker drains — serves nothing new, leaves the group gracefully — and its process
   * exits once the view without it is installed, or after `leaveTicksMax` (the runtime's 3 s).
   */
  leave(name: string, leaveTicksMax = 300): void {
    const broker = this.brokers.get(name);
    if (broker === undefined || !broker.alive) return;
    broker.node.setDraining();
    broker.node.leave();
    this.perform(broker);
    broker.exitAt = this.now + leaveTicksMax;
  }

  /** SIGSTOP for `ticks`: nothing runs, messages wait; then it catches up on time first. */
  pause(name: string, ticks: number): void {
    const broker = this.brokers.get(name);
    if (broker?.alive === true) broker.pausedUntil = this.now + ticks;
  }

  /** A client session at broker `name`, if it runs now (else undefined: the connection fails). */
  connect(name: string, client: string, onMessage: (m: ServerMessage) => void): SimSession | undefined {
    const broker = this.brokers.get(name);
    if (broker === undefined || !this.isRunning(broker)) return undefined;
    const session = new SimSession(`${broker.node.id}/s${++this.sessionCount}`, client, onMessage);
    broker.sessions.add(session);
    return session;
  }

  /** A client's request to its broker: `act` calls the broker's topic layer; what it set going is performed. */
  request(session: SimSession, act: (broker: SimBroker) => void): boolean {
    const broker = this.brokerOf(session);
    if (broker === undefined || session.closed || !this.isRunning(broker)) return false;
    act(broker);
    // As the runtime does with everything read in one pass of the event loop: the clients'
    // requests of a tick are performed together (their commands to one group go as one batch).
    if (this.batching) this.toPerform.add(broker);
    else this.perform(broker);
    return true;
  }

  /** Performs what the clients' requests of this tick set going (`batching`). */
  performRequests(): void {
    const brokers = [...this.toPerform];
    this.toPerform.clear();
    for (const broker of brokers) if (this.isRunning(broker)) this.perform(broker);
  }

  /** The client closes its session (or its connection is cut). */
  disconnect(session: SimSession): void {
    const broker = this.brokerOf(session);
    session.closed = true;
    if (broker === undefined || !broker.alive) return;
    broker.sessions.delete(session);
    broker.node.topics.drop(session);
    this.perform(broker);
  }

  /** Runs `fn` at tick `at` (a client's backoff). */
  later(at: number, fn: () => void): void {
    this.timers.push({ at, fn });
  }

  isRunning(broker: SimBroker): boolean {
    return broker.alive && this.now >= broker.pausedUntil;
  }

  /** One tick: brokers catch up on time, what is due arrives, every running broker ticks. */
  step(): void {
    this.performRequests();
    this.now++;
    for (const broker of this.brokers.values()) {
      if (!broker.alive || broker.exitAt === undefined) continue;
      if (broker.node.member.status === 'member' && this.now < broker.exitAt) continue;
      // Left (or gave up waiting: then it is gone as if it crashed): the process exits, its sessions with it.
      broker.exitAt = undefined;
      broker.alive = false;
      if (broker.node.member.status !== 'stopped') this.coreLogs.get(broker.node.id)?.push({ kind: 'crash', member: broker.node.id });
      this.closeSessions(broker);
    }
    for (const broker of this.running()) {
      while (broker.tickedAt < this.now - 1) {
        broker.tickedAt++;
        broker.node.tick();
      }
      this.perform(broker);
    }
    for (const h of this.held.splice(0)) this.deliverTo(h.to, h.from, h.message);
    for (const m of this.network.due(this.now)) this.deliverTo(m.to, m.from, m.message);
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
    this.performRequests();
    for (const broker of this.running()) {
      broker.tickedAt = this.now;
      broker.node.tick();
      this.perform(broker);
    }
  }

  running(): SimBroker[] {
    return [...this.brokers.values()].filter((b) => this.isRunning(b));
  }

  private brokerOf(session: SimSession): SimBroker | undefined {
    const id = session.id.slice(0, session.id.lastIndexOf('/'));
    const broker = this.brokers.get(id.split('#')[0]!);
    return broker?.node.id === id || broker?.sessions.has(session) === true ? broker : undefined;
  }

  private deliverTo(to: string, from: string, message: unknown): void {
    const broker = this.brokers.get(to.split('#')[0]!);
    if (broker === undefined || !broker.alive) return;
    // A bare name is an address (a contact a joiner was given): whichever incarnation runs there.
    if (to.includes('#') && broker.node.id !== to) return;
    if (this.now < broker.pausedUntil) {
      this.held.push({ to, from, message });
      return;
    }
    broker.node.receive(from, overTheWire(message));
    this.perform(broker);
  }

  /** Performs the node's actions, and what the deferred work they set going produces, until quiet. */
  private perform(broker: SimBroker): void {
    for (let i = 0; i < 1_000_000; i++) {
      const actions = broker.node.drain();
      // As the runtime's links do: a new identity drops what was queued before it (Links.setSelf
      // clears the queues; they write at the end of the pass), and what follows goes as the new id.
      let switched = -1;
      actions.forEach((a, i) => a.kind === 'incarnation' && (switched = i));
      for (const [i, action] of actions.entries()) {
        switch (action.kind) {
          case 'send':
            if (i > switched) this.network.send(this.now, `${broker.name}#${broker.incarnation}`, action.to, action.message as never);
            break;
          case 'incarnation':
            broker.incarnation++;
            // The gateway closes every session: their copies are gone.
            this.closeSessions(broker);
            break;
          case 'primary':
            if (!action.primary) this.closeSessions(broker);
            break;
          case 'resync':
            this.events.push(`t${this.now} ${broker.name} resync`);
            this.closeSessions(broker);
            break;
          case 'view':
            break;
          default: {
            const never: never = action;
            throw new Error(`unknown action ${JSON.stringify(never)}`);
          }
        }
      }
      const work = this.deferred.splice(0);
      if (actions.length === 0 && work.length === 0) return;
      for (const fn of work) fn();
    }
    throw new Error('a broker never went quiet');
  }

  private closeSessions(broker: SimBroker): void {
    const sessions = [...broker.sessions];
    broker.sessions.clear();
    for (const session of sessions) {
      session.closed = true;
      if (broker.alive) broker.node.topics.drop(session);
      for (const tell of broker.onSessionsClosed) tell(session);
    }
  }
}

/**
 * A peer message as the other broker reads it: through the links' own framing and codec (what is
 * undefined arrives as nil, a Map as an object …), so the simulator runs what production decodes.
 */
function overTheWire(message: unknown): unknown {
  const decoder = new FrameDecoder();
  const events = decoder.push(encodeLinkFrame(message));
  const event = events[0];
  if (events.length !== 1 || event === undefined || !event.ok) throw new Error(`a peer message did not survive the link codec: ${JSON.stringify(event)}`);
  return event.value;
}
