/**
 * This broker's side of waiting groups (lightweight-groups/table.ts: a group
 * whose every ready holder left at once waits for one of their copies rather
 * than start again empty; docs/mesh.md, "Waiting groups"). It keeps the
 * complete copies this broker held when it was excluded, across its new
 * incarnation; says `salvage` for each waiting group that waits for it — with
 * the position its copy is complete to, or none; as a group's first owner, says
 * `give-up` once a group has waited `waitMs` (a broker that held it may never
 * come back); and when a wait ends, does what it means here: load the copy
 * kept, drop copies ahead of the one the group came back to, or start empty.
 */
import { brokerName, type LwgControl, type LwgSettled, type LwgTable } from '../../lightweight-groups/index.js';
import type { MemberId, MessageKey } from '../core/index.js';
import { ErrorCode } from '../../client/protocol/index.js';
import type { Failure, TableSnapshot, TopicCommand, TopicTable } from '../topics/index.js';
import type { Kept } from './kept.js';
import { epochFor } from './epochs.js';
import { Load, type Held } from './replica-load.js';
import type { ReplicaFigures } from './replica-figures.js';
import type { ReplicasHost } from './replicas-host.js';

/** What the waits need of the replicas agent (replicas.ts). */
export interface WaitsAgent {
  readonly kept: Kept;
  readonly host: ReplicasHost;
  readonly counts: ReplicaFigures['counts'];
  topics(): TopicTable;
  lwgOf(topic: string): number;
  /** This broker's copy of group `g`, as a snapshot. */
  snapshotOf(g: number): TableSnapshot;
  /** A held copy is complete: what waited on it is answered. */
  complete(g: number, h: Held): void;
  /** A fresh tag for an own request. */
  nextTag(): number;
}

export interface KeptCopy {
  /** Deliveries of the group's stream the copy is complete to. */
  pos: number;
  snapshot: TableSnapshot;
}

export class GroupWaits {
  /** Copies kept from an earlier incarnation, by group. */
  private readonly copies = new Map<number, KeptCopy>();
  /** When this broker first saw each wait (by group: the wait's id), and whether it gave it up. */
  private readonly seen = new Map<number, { id: number; since: number; gaveUp: boolean }>();

  constructor(
    private readonly table: LwgTable,
    private readonly send: (control: LwgControl) => void,
    private readonly waitMs: number,
    private readonly agent: WaitsAgent,
  ) {}

  private now(): number {
    return this.agent.host.now();
  }

  /**
   * This broker lets go of group `g` (its `unhold` was delivered): its copy is kept until the next
   * view. Had it answered a command the owners then never delivered (cut off before it), and they
   * all leave at that view, the group's wait comes back to this copy (table.ts, `released`).
   */
  keepReleased(g: number): void {
    // A copy of its own: the broker goes on applying to what it still keeps (topics wanted here,
    // the stream's publish ids), which a snapshot shares.
    this.copies.set(g, { pos: this.table.position(g), snapshot: structuredClone(this.agent.snapshotOf(g)) });
  }

  /** The answer to a command or a subscribe of `topic` while its group waits: Unavailable, retry later. */
  refusal(topic: string): Failure {
    const awaiting = this.table.waiting(this.agent.lwgOf(topic))?.awaiting.join(', ') || 'a copy';
    return { ok: false, code: ErrorCode.Unavailable, message: `topic ${topic.slice(0, 64)}: every broker that kept it left at once; its group waits for ${awaiting} to come back; retry later` };
  }

  /** Whether this broker (`me`) has a copy of group `g` that the group's wait may take (offered, or to be). */
  offers(g: number, me: MemberId | undefined): boolean {
    return me !== undefined && this.copies.has(g) && this.table.awaits(g, me);
  }

  /**
   * This incarnation (`was`) ends: keep the complete copies it served (a wait may come back to
   * them). What it said of waits may be lost with it: its next incarnation says it again.
   */
  keepCopies(was: MemberId): void {
    // (Each wait's clock runs on: `--lwg-wait` counts from when this broker first saw it.)
    for (const s of this.seen.values()) s.gaveUp = false;
    for (const [g, h] of this.agent.kept.held) {
      if (h.phase === 'complete' && this.table.isReady(g, was)) this.copies.set(g, { pos: this.table.position(g), snapshot: structuredClone(this.agent.snapshotOf(g)) });
    }
  }

  /** A view (`me`: this incarnation): answer the waits that wait for this broker; forget copies nothing waits for. */
  onView(me: MemberId): void {
    const name = brokerName(me);
    for (const g of [...this.copies.keys()]) if (!this.table.awaits(g, me)) this.copies.delete(g);
    for (let g = 0; g < this.table.config.lwgCount; g++) {
      const w = this.table.waiting(g);
      if (w === undefined) {
        this.seen.delete(g);
        continue;
      }
      if (this.seen.get(g)?.id !== w.id) this.seen.set(g, { id: w.id, since: this.now(), gaveUp: false });
      if (!w.awaiting.includes(name)) continue;
      const copy = this.copies.get(g);
      this.send(copy === undefined ? { op: 'salvage', lwg: g, wait: w.id } : { op: 'salvage', lwg: g, wait: w.id, pos: copy.pos });
    }
  }

  /** A group's wait ended (a control just delivered, `key`): take the copy it came back to, or drop what is ahead of it, or start empty. */
  settle(s: LwgSettled, key: MessageKey): void {
    const g = s.lwg;
    const { kept, host } = this.agent;
    const table = this.agent.topics();
    const copy = this.copies.get(g);
    this.copies.delete(g);
    this.seen.delete(g);
    if (s.server === undefined) return this.lose(g);
    host.log?.('lwg-wait-over', { lwg: g, server: s.server, pos: s.pos, at: s.at, behind: s.behind });
    const me = host.self();
    const ofGroup = (t: string): boolean => this.agent.lwgOf(t) === g;
    // Behind: clients served here from copies ahead of the one the group came back to resume
    // (muted until their sessions close). A topic served may not exist yet: its subscribers saw seq 0.
    if (s.behind && ([...table.names()].some((t) => ofGroup(t) && host.isPinned(t)) || kept.wantsIn(g).some(([t, w]) => w.phase === 'active' && host.isPinned(t)))) {
      host.resync?.('a copy this broker served was taken back to the one its group came back to: resume');
    }
    if (s.server === me) {
      // Ended by this broker's own `ready` (its load completed meanwhile): its copy is the one.
      if (copy === undefined) return;
      // Its copy from before its exclusion. Behind what the others delivered before the wait
      // (commands nobody acknowledged, but subscribers may have seen): a new epoch per topic, so
      // a client resuming there is told rather than shown other messages under the same seqs.
      const snapshot = !s.behind ? copy.snapshot : { ...copy.snapshot, topics: copy.snapshot.topics.map((t) => ({ ...t, epoch: epochFor({ id: `${t.epoch}|${key}` } as TopicCommand) })) };
      // The copy's publish ids replace the stream's here, even when it has none (a survivor's
      // would include commands the copy does not: their retries would be taken for duplicates).
      table.forgetStream(g);
      table.restorePart(snapshot, ofGroup, true);
      const h: Held = { phase: 'complete', releasing: false, n: this.agent.nextTag() };
      kept.held.set(g, h);
      this.agent.complete(g, h);
      host.log?.('lwg-salvaged', { lwg: g, topics: snapshot.topics.length, behind: s.behind });
      return;
    }
    if (s.behind) {
      // Copies here are ahead of the one the group came back to: they go, and load from it again.
      // Loads still waiting start again too: a snapshot from a server gone before the wait would
      // match one of their old marks, and the commands buffered since hold what the copy lacks.
      for (const [topic, w] of kept.wantsIn(g)) if (w.phase !== 'asked') kept.wanted.set(topic, { phase: 'loading', load: new Load(this.now()), n: w.n });
      const loading = kept.held.get(g);
      if (loading?.phase === 'loading') loading.load = new Load(this.now(), new Set());
      table.dropWhere(ofGroup);
      table.forgetStream(g);
    }
    // A complete copy here whose `ready` did not end the wait is not counted (table.ts): load again.
    const h = kept.held.get(g);
    if (h?.phase === 'complete' && me !== undefined && !this.table.isReady(g, me)) {
      h.phase = 'loading';
      h.load = new Load(this.now(), new Set(kept.activeIn(g)));
    }
  }

  /** No copy of the group came back: it starts again, empty, wherever any of it was kept. */
  private lose(g: number): void {
    const { kept, host, counts } = this.agent;
    const table = this.agent.topics();
    counts.lost++;
    host.log?.('lwg-state-lost', { lwg: g });
    table.dropWhere((t) => this.agent.lwgOf(t) === g);
    table.forgetStream(g);
    const h = kept.held.get(g);
    if (h !== undefined && h.phase !== 'asked') this.agent.complete(g, h);
    // With holders left (now complete, empty), wants start empty here too; with none, they wait
    // (asking again) until a holder exists and load from it — never apply what no holder has.
    if (this.table.holders(g).length > 0) return kept.activate(g, ['loading', 'active']);
    for (const [topic, w] of kept.wantsIn(g)) if (w.phase !== 'asked') kept.wanted.set(topic, { phase: 'loading', load: new Load(this.now()), n: w.n });
  }

  /** The first owner of a group that waited too long gives the wait up (once per wait). */
  tick(me: MemberId): void {
    const now = this.now();
    for (const [g, s] of this.seen) {
      const w = this.table.waiting(g);
      if (w === undefined || w.id !== s.id) {
        this.seen.delete(g);
        continue;
      }
      if (s.gaveUp || now - s.since < this.waitMs || this.table.ownersOf(g)[0] !== me) continue;
      s.gaveUp = true;
      this.send({ op: 'give-up', lwg: g, wait: w.id });
    }
  }
}
