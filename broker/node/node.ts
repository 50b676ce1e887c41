/**
 * One broker in a group, sans-I/O: the core `Member` and everything above it
 * that makes the client-facing promise — the topic table and its clients'
 * subscriptions (broker/topics), the mesh stream that orders topic commands on
 * their lightweight group's stream, and the replicas that decide which topics
 * this broker keeps and load them. The etcd-raft shape: inputs in, actions out.
 *
 * Inputs: `receive` (a peer's message or note), `tick` (one core tick; the
 * clock is `now`, injected), client requests through `topics` (subscribe,
 * publish, unsubscribe, a session gone), `join`/`found`/`leave`. Each input is
 * followed by `drain()`, which performs the member's actions inside the node
 * and returns what the driver must do: send to a peer, switch links to a new
 * incarnation, tell sessions the primary view was lost or gained. Deliveries
 * to clients leave through their sessions (the `Subscriber` each request
 * names), as the topic layer always did.
 *
 * Nothing here reads a clock, sets a timer or touches a socket: the runtime
 * (broker/mesh/cluster-node.ts) drives it over links and timers, and the
 * simulator drives it with a seed.
 */
import { ErrorCode } from '../../client/protocol/index.js';
import { payloadSize } from './sizes.js';
import { CoreFigures, Member, type CoreConfig, type LogEntry, type MemberId, type ViewRecord } from '../core/index.js';
import { Topics, type TopicLimits, type TopicTable } from '../topics/index.js';
import { lwgOf, ownersOf, type LwgConfig, type LwgInfo, type LwgTableSnapshot } from '../../lightweight-groups/index.js';
import { MeshStream } from './mesh-stream.js';
import { epochFor } from './epochs.js';
import { Replicas } from './replicas.js';
import { peerNote, type PeerNote } from './peer-notes.js';
import type { TakeoverSettings } from './takeover-policy.js';
import type { ClaimSettings } from './claim-policy.js';

/** How long a resume ahead of this broker's copy of its topic waits for the copy to catch up, ms (docs/protocol.md §8.4). */
const resumeWaitMs = 5_000;
/** How often deadlines (loads, answers, waiting resumes) are swept, ms. */
const sweepMs = 100;

export interface BrokerNodeOptions {
  /** The member id of each incarnation, the first included (the driver draws it: a clock and randomness, or a seed). */
  newId: () => MemberId;
  core?: Partial<CoreConfig>;
  lwg: LwgConfig;
  topics: {
    limits: TopicLimits;
    payloadBytesMax: number;
    presenceInfoBytesMax: number;
    topicBytesMax: number;
    subscriptionsMax: number;
  };
  /** The clock, ms: command timestamps and every deadline. */
  now: () => number;
  /** Runs `fn` after the input being handled (the driver's microtask queue). */
  defer: (fn: () => void) => void;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** How long a group whose copies all left waits for one of them to come back, ms (docs/mesh.md, "Waiting groups"). */
  groupWaitMs?: number;
  /** The core group's own log (views, sends, deliveries), for the property checker. */
  coreLog?: (entry: LogEntry) => void;
  /** When this broker takes a group's stream over (takeover-policy.ts). */
  takeover?: Partial<TakeoverSettings>;
  /** When this broker claims a group, to own it (claim-policy.ts). */
  claim?: Partial<ClaimSettings>;
}

/** What the driver must do. */
export type NodeAction =
  /** A core message or a peer note for one peer (its links carry both). */
  | { kind: 'send'; to: MemberId; message: unknown }
  /** This broker starts again as a new member id (after an exclusion): links take it, sessions are closed so clients resume. */
  | { kind: 'incarnation'; id: MemberId }
  /** Copies this broker served its clients from were taken back (a waiting group came back behind them): close every session, so clients resume. */
  | { kind: 'resync'; reason: string }
  /** In a primary view, or out of it (sessions are sent to another broker). */
  | { kind: 'primary'; primary: boolean }
  | { kind: 'view'; view: ViewRecord };

export class BrokerNode {
  member: Member;
  /** The core member's counts, kept across incarnations. */
  readonly figures = new CoreFigures();
  readonly topics: Topics;
  readonly replicas: Replicas;
  readonly stream: MeshStream;
  /** Views installed, for the metrics. */
  viewsTotal = 0;
  /** Told when a peer says it has a subscriber to `$sys` (`watchSys`): the driver publishes its figures a while. */
  onSysWatch: ((from: MemberId) => void) | undefined;
  private primary = false;
  private draining = false;
  private leaving = false;
  private sweptAt = -Infinity;
  private out: NodeAction[] = [];
  /**
   * Called when an input other than a peer message or a tick (a client's publish, a control, a
   * peer note) gave the node something to send: the driver drains it soon (once the pass of the
   * event loop that took it is done: broker/mesh `performSoon`) instead of at the next tick, which
   * would add up to a tick to every publish's path.
   */
  onPending: (() => void) | undefined;

  private pending(): void {
    this.onPending?.();
  }

  /** Whom a joining incarnation asks (the seeds, re-resolved or not). */
  private contacts: string[] = [];

  constructor(private readonly options: BrokerNodeOptions) {
    const { lwgCount } = options.lwg;
    this.stream = new MeshStream({ group: () => (this.primary && this.member.status === 'member' ? (this.pending(), this.member) : undefined), lwgOf: (topic) => lwgOf(topic, lwgCount), now: options.now, self: () => this.member.id, ...(options.takeover === undefined ? {} : { takeover: options.takeover }) });
    this.replicas = new Replicas(options.lwg, {
      self: () => (this.member.status === 'member' ? this.member.id : undefined),
      // Controls go out whenever this broker is a member: the core holds them while it is blocked.
      multicast: (payload, o) => (this.member.status === 'member' ? (this.pending(), this.member.multicast(payload, o)) : undefined),
      sendPeer: (to, note: PeerNote) => (this.pending(), this.out.push({ kind: 'send', to, message: note })),
      answer: (key, result) => this.stream.answer(key, result),
      delivered: (key) => this.stream.delivered(key),
      isPinned: (topic) => this.topics.isPinned(topic),
      dropDeparted: () => this.dropDeparted(),
      now: options.now,
      ...(options.log === undefined ? {} : { log: options.log }),
      // Nothing more reaches the sessions (before the copies that replace the old ones load), and
      // the driver closes them: their clients resume.
      resync: (reason) => {
        this.topics.index.muteAll();
        this.out.push({ kind: 'resync', reason });
      },
      ...(options.groupWaitMs === undefined ? {} : { groupWaitMs: options.groupWaitMs }),
      ...(options.claim === undefined ? {} : { claim: options.claim }),
    });
    this.topics = new Topics({
      ...options.topics,
      now: options.now,
      defer: options.defer,
      newEpoch: epochFor,
      // Topics are created only by ordered commands, identically at every copy.
      createOnSubscribe: false,
      streamOf: (topic) => lwgOf(topic, lwgCount),
      stream: (table: TopicTable) => this.stream.bind(table, this.replicas),
      interest: this.replicas,
      // Outside a primary view (cut off, excluded, rejoining) this broker's copies may be frozen
      // behind the topics: nothing is served from them; the client tries again, elsewhere.
      unavailable: () =>
        this.primary && !this.draining && this.member.status === 'member'
          ? undefined
          : { ok: false as const, code: ErrorCode.NotReady, message: 'this broker is not in the primary view now; subscribe through another broker, or again later' },
      resumeWaitMs,
    });
    this.member = this.newMember(options.newId());
  }

  get id(): MemberId {
    return this.member.id;
  }

  /** The view, while a member. */
  get view(): ViewRecord | undefined {
    return this.member.status === 'member' ? this.member.view : undefined;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  /** The lightweight groups as the table has them, each with the broker sequencing its stream now. */
  groups(): LwgInfo[] {
    const member = this.view === undefined ? undefined : this.member;
    return this.replicas.table.all().map((info) => (member === undefined ? info : { ...info, sequencer: member.sequencerOf(info.lwg) }));
  }

  /**
   * Whether this broker leads `topic`'s group in the primary view (its first owner with a complete
   * copy: lightweight-groups/table.ts `leader`; a broker that takes the stream over for its
   * publishes does not take this role): the one broker that announces what the topic's order
   * decides, such as a room's players (broker/topics/rooms.ts), counted from its own copy.
   */
  leads(topic: string): boolean {
    if (!this.primary || this.view === undefined) return false;
    return this.replicas.table.leader(this.replicas.lwgOf(topic)) === this.member.id;
  }

  /** Changes whenever a group's leader changes (or the view does): leaders count and announce again. */
  leadership(): string | undefined {
    return this.view === undefined ? undefined : `${this.view.id}.${this.replicas.table.leadership}`;
  }

  // ---- inputs --------------------------------------------------------------------

  /** Asks these contacts (cluster addresses or member ids) to let this broker in. */
  join(contacts: readonly string[]): void {
    this.contacts = [...contacts];
    this.member.join(this.contacts);
  }

  setContacts(contacts: readonly string[]): void {
    this.contacts = [...contacts];
    this.member.setContacts(this.contacts);
  }

  /** Founds a group alone (the driver's founding rule decided). */
  found(): void {
    this.member.found();
  }

  /** Leaves the group gracefully; `drain()` then until the member has stopped. */
  leave(): void {
    this.leaving = true;
    this.draining = true;
    if (this.member.status === 'member') this.member.leave();
  }

  /** Shutting down: no more subscribes or publishes served here. */
  setDraining(): void {
    this.draining = true;
  }

  /** A peer's message: a core message, or a note point to point (a snapshot, a result). */
  receive(from: MemberId, value: unknown): void {
    const note = peerNote(value);
    if (note === undefined) return this.member.receive(from, value as never);
    if (note.kind === 'sys-watch') return void this.onSysWatch?.(from);
    try {
      if (note.kind === 'lwg-snap') this.replicas.onSnapshot(note);
      else this.replicas.onResult(note);
    } catch (err) {
      // A bug must cost this note, not the process (the load asks again).
      this.options.log?.('lwg-note-failed', { from, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Tells every other broker of the view that a client here watches `$sys` (a note to each; sent at the next drain). */
  watchSys(): void {
    const view = this.view;
    if (view === undefined) return;
    for (const member of view.members) if (member !== this.member.id) this.out.push({ kind: 'send', to: member, message: { kind: 'sys-watch' } satisfies PeerNote });
  }

  /** One core tick; deadlines are swept every 100 ms of `now`. */
  tick(): void {
    this.member.tick();
    const now = this.options.now();
    if (now - this.sweptAt < sweepMs) return;
    this.sweptAt = now;
    this.replicas.tick();
    this.stream.tick(now);
    this.topics.tick();
  }

  /** Performs the member's actions inside the node; returns what the driver must do, in order. */
  drain(): NodeAction[] {
    // What clients asked in this pass goes out now, a multicast per group (mesh-stream.ts).
    this.stream.flush();
    this.perform();
    const out = this.out;
    this.out = [];
    return out;
  }

  // ---- the member's actions ------------------------------------------------------

  private perform(): void {
    for (;;) {
      const member = this.member;
      const actions = member.drain();
      if (actions.length === 0) return;
      let excluded = false;
      for (const action of actions) {
        switch (action.kind) {
          case 'send':
            // One message per send, not per batch: a turn's batch to one peer can be large, and the
            // links write everything of a turn in one go anyway.
            if (action.message.kind === 'batch') for (const item of action.message.items) this.out.push({ kind: 'send', to: action.to, message: item });
            else this.out.push({ kind: 'send', to: action.to, message: action.message });
            break;
          case 'deliver':
            this.stream.deliver(action.delivery);
            break;
          case 'view':
            this.onView(action.view);
            break;
          case 'get-state':
            // A joiner gets the lightweight-group table; topics come to it by snapshots per group.
            member.stateReady({ lwg: this.replicas.table.snapshot() });
            break;
          case 'set-state': {
            const lwg = (action.state as { lwg?: unknown } | null)?.lwg;
            if (Array.isArray(lwg)) this.replicas.table.restore(lwg as LwgTableSnapshot);
            break;
          }
          case 'primary':
            this.setPrimary(action.primary);
            break;
          case 'stopped':
            this.options.log?.('cluster-stopped', { member: member.id, reason: action.reason });
            this.setPrimary(false);
            this.stream.failPending(`this broker was ${action.reason === 'left' ? 'leaving' : 'excluded from'} the group; publish again`);
            excluded = action.reason === 'excluded';
            break;
          case 'block':
          case 'unblock':
            break;
          default: {
            const never: never = action;
            throw new Error(`unhandled action ${JSON.stringify(never)}`);
          }
        }
      }
      // The new incarnation starts only after every action of the old one: a member's sends of a
      // turn come after its other actions (core/wire.ts), and the runtime sends as whoever it is at
      // that point (ClusterNode switches the links at `incarnation`). Started at `stopped`, the
      // old member's last messages went out under the new id — a participant took one for a member
      // behind its view and resent its own install, bare, which the joiner took as its join install
      // (no lanes, no state): every origin's abcasts on the streams it sequenced stalled (chaos).
      if (excluded && !this.leaving && !this.draining) this.reincarnate();
    }
  }

  /** Excluded: start again as a new member id, from nothing; copies load again. */
  private reincarnate(): void {
    this.replicas.reset(this.member.id);
    this.member = this.newMember(this.options.newId(), this.member.viewSeen);
    this.out.push({ kind: 'incarnation', id: this.member.id });
    this.member.join(this.contacts);
  }

  private newMember(id: MemberId, viewSeen = 0): Member {
    const replicas = this.options.lwg.replicas;
    return new Member({
      id,
      viewSeen,
      ...(this.options.core === undefined ? {} : { config: this.options.core }),
      // A lightweight group's stream is sequenced by its first owner.
      sequencerOf: (stream, members) => ownersOf(stream, members, replicas)[0]!,
      sizeOf: payloadSize,
      figures: this.figures,
      ...(this.options.coreLog === undefined ? {} : { onLog: this.options.coreLog }),
    });
  }

  private onView(view: ViewRecord): void {
    this.viewsTotal++;
    this.options.log?.('cluster-view', { view: view.id, members: view.members });
    // Presence entries of clients of brokers not in the view go, as leave events, at the same
    // point of every stream at every broker (a view change is ordered with every message). All
    // of them, not only those of brokers that just left: a joiner's snapshot was taken before
    // the coordinator dropped them.
    this.dropDeparted();
    this.setPrimary(true);
    this.replicas.onView(view.members);
    this.out.push({ kind: 'view', view });
  }

  /** Drops the presence of clients of brokers not in the view (also after a snapshot from an older view is loaded). */
  private dropDeparted(): void {
    const members = this.view?.members;
    if (members === undefined) return;
    this.topics.table.dropPresence((session) => {
      const slash = session.lastIndexOf('/');
      return slash > 0 && !members.includes(session.slice(0, slash));
    });
  }

  private setPrimary(primary: boolean): void {
    if (primary === this.primary) return;
    this.primary = primary;
    if (primary) this.stream.resume();
    this.out.push({ kind: 'primary', primary });
  }
}
