/**
 * Snapshots between brokers, for replicas.ts: the group's server sends one
 * at the position of a `hold` or `want` it saw delivered; the broker that
 * asked loads it into its copy with the commands its load buffered since
 * (replica-load.ts), then says `ready` (a group) or serves the topic (a want).
 * A snapshot may come before its control is delivered here: it is kept
 * (bounded) until the control marks its position, or dropped when the
 * control was not the one it answers.
 */
import type { LwgControl, LwgTable } from '../../lightweight-groups/index.js';
import type { Delivery, MemberId, MessageKey } from '../core/index.js';
import type { ApplyResult, TableSnapshot, TopicTable } from '../topics/index.js';
import type { Kept } from './kept.js';
import type { PeerNote } from './peer-notes.js';
import type { ReplicaFigures } from './replica-figures.js';
import { commandOf, type Held, type Load } from './replica-load.js';
import type { ReplicasHost } from './replicas-host.js';

/** What the transfers need of the replicas agent (replicas.ts). */
export interface TransferAgent {
  readonly table: LwgTable;
  readonly kept: Kept;
  readonly host: ReplicasHost;
  readonly figures: ReplicaFigures;
  readonly controls: { send(control: LwgControl): void; isInFlight(key: MessageKey): boolean };
  topics(): TopicTable;
  lwgOf(topic: string): number;
  /** Applies a delivered command to this broker's copy. */
  applyNow(d: Delivery): ApplyResult | undefined;
  /** Hands on a delivery a load buffered (it was taken when delivered). */
  deliver(d: Delivery): void;
  /** A held copy is complete. */
  complete(g: number, h: Held): void;
  /** Answers the subscribers waiting for `topic`. */
  resolve(topic: string): void;
}

type Snapshot = PeerNote & { kind: 'lwg-snap' };

export class ReplicaTransfers {
  /** Snapshots that came before their control (by the control's key). */
  private readonly waiting = new Map<MessageKey, Snapshot>();

  constructor(private readonly agent: TransferAgent) {}

  /** This broker's copy of group `lwg`, or of one of its topics. */
  snapshotOf(lwg: number, topic: string | undefined): TableSnapshot {
    return this.agent.topics().snapshotPart(topic === undefined ? (t) => this.agent.lwgOf(t) === lwg : (t) => t === topic, lwg);
  }

  /** As the group's server: a snapshot for `to`, at the position of its control `key`. */
  send(to: MemberId, key: MessageKey, lwg: number, topic: string | undefined): void {
    const snapshot = this.snapshotOf(lwg, topic);
    this.agent.figures.sent(snapshot);
    this.agent.host.sendPeer(to, topic === undefined ? { kind: 'lwg-snap', key, lwg, snapshot } : { kind: 'lwg-snap', key, lwg, topic, snapshot });
  }

  /** An own control `key` was delivered and marked its load: a snapshot that came first loads now. */
  early(key: MessageKey): void {
    const snap = this.waiting.get(key);
    if (snap !== undefined) this.onSnapshot(snap);
  }

  /** An own control was delivered and handled: a snapshot that came before it and was not used will not be. */
  forget(key: MessageKey): void {
    this.waiting.delete(key);
  }

  clear(): void {
    this.waiting.clear();
  }

  /** A snapshot from the server: load it if a load waits for it, keep it if it came before its control. */
  onSnapshot(note: Snapshot): void {
    const { kept } = this.agent;
    const table = this.agent.topics();
    this.waiting.delete(note.key);
    const h = kept.held.get(note.lwg);
    if (note.topic === undefined) {
      const load = h?.phase === 'loading' ? h.load! : undefined;
      const at = load?.split(note.key);
      if (load !== undefined && at !== undefined) {
        // Topics kept here all along catch up command by command (their subscribers see every
        // message); the snapshot brings the rest.
        const current = new Set([...load.current].filter((t) => kept.wanted.get(t)?.phase === 'active'));
        for (const d of at.before) if (current.has(commandOf(d)?.topic ?? '')) this.agent.applyNow(d);
        const snapshot = { ...note.snapshot, topics: note.snapshot.topics.filter((t) => !current.has(t.name)) };
        table.restorePart(snapshot, (t) => this.agent.lwgOf(t) === note.lwg && !current.has(t), true);
        return this.loaded(load, note.snapshot, at.after, { lwg: note.lwg, topics: note.snapshot.topics.length }, () => {
          this.agent.complete(note.lwg, h!);
          this.agent.controls.send({ op: 'ready', lwg: note.lwg, ended: this.agent.table.waitsEnded(note.lwg) });
        });
      }
    } else if (h?.phase !== 'loading') {
      const w = kept.wanted.get(note.topic);
      const rest = w?.phase === 'loading' ? w.load!.split(note.key)?.after : undefined;
      if (rest !== undefined) {
        const load = w!.load!;
        // No local subscriber waits on a topic still loading: its copy may jump ahead.
        table.restorePart(note.snapshot, (t) => t === note.topic, false);
        return this.loaded(load, note.snapshot, rest, { lwg: note.lwg, topic: note.topic }, () => {
          kept.activateTopic(note.topic!);
          this.agent.resolve(note.topic!);
        });
      }
    }
    if (this.agent.controls.isInFlight(note.key) && this.waiting.size < 1024) this.waiting.set(note.key, note);
  }

  private loaded(load: Load, snapshot: unknown, rest: Delivery[], fields: Record<string, unknown>, done: () => void): void {
    const { figures, host } = this.agent;
    figures.loaded(snapshot, host.now() - load.startedAt);
    done();
    // What the load buffered was taken when delivered (a wait that began since refuses nothing of it).
    for (const d of rest) this.agent.deliver(d);
    host.dropDeparted();
    host.log?.('lwg-loaded', fields);
  }
}
