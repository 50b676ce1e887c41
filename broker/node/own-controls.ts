/**
 * What this broker does when one of its own controls comes back delivered, for replicas.ts: the
 * position a `hold` or `want` was ordered at is where its load begins (the server's snapshot is
 * taken there, and the commands delivered since are buffered to replay on it); an `unhold` the
 * table accepted lets the group's copy go, keeping the topics still wanted here. A control that is
 * not the current request (let go, and perhaps asked for again since) does nothing.
 */
import type { LwgTable } from '../../lightweight-groups/index.js';
import type { MessageKey } from '../core/index.js';
import type { TopicTable } from '../topics/index.js';
import type { Kept } from './kept.js';
import { Load, type Held } from './replica-load.js';
import type { ReplicasHost } from './replicas-host.js';

/** What the handlers need of the replicas agent (replicas.ts). */
export interface OwnControlsAgent {
  readonly table: LwgTable;
  readonly kept: Kept;
  readonly host: ReplicasHost;
  readonly controls: { quieten(lwg: number): void };
  topics(): TopicTable;
  lwgOf(topic: string): number;
  /** A held copy is complete. */
  complete(g: number, h: Held): void;
  /** Answers the subscribers waiting for `topic`. */
  resolve(topic: string): void;
  /** Answers the waiters of what is kept now, of group `g`. */
  resolveKept(g: number): void;
  /** A snapshot that came before the control `key` loads now (replica-transfers.ts). */
  early(key: MessageKey): void;
  /** A ready copy let go in this view (group-waits.ts keeps it until the view ends). */
  keepReleased(g: number): void;
}

export class OwnControls {
  constructor(private readonly a: OwnControlsAgent) {}

  hold(g: number, key: MessageKey, n: number | undefined): void {
    const { kept, table, host } = this.a;
    const h = kept.held.get(g);
    if (h === undefined || h.n !== n || h.phase === 'complete') return;
    if (table.isReady(g, host.self()!)) {
      // No complete copy anywhere to load from (a new group): it starts here, empty.
      this.a.complete(g, h);
      return;
    }
    if (h.phase === 'asked') {
      h.phase = 'loading';
      h.load = new Load(host.now(), new Set(kept.activeIn(g)));
      // The group's snapshot covers its topics: their own loads stop (their commands go to the
      // group's buffer from here, and a topic snapshot that comes later is not used).
      kept.activate(g, ['loading']);
    }
    h.load!.mark(key);
    this.a.early(key);
  }

  want(topic: string, key: MessageKey, n: number | undefined): void {
    const { kept, host } = this.a;
    const w = kept.wanted.get(topic);
    const g = this.a.lwgOf(topic);
    // Not the current request (it was let go, and perhaps asked for again since): nothing to do.
    if (w === undefined || w.n !== n) return this.a.controls.quieten(g);
    if (w.phase === 'active') return;
    if (w.phase === 'asked') {
      // Kept here already, or about to be by the group's load.
      if (kept.serves(g) || kept.held.get(g)?.phase === 'loading') {
        kept.wanted.set(topic, { phase: 'active', n: w.n });
        if (kept.keeps(topic)) this.a.resolve(topic);
        return;
      }
      // Loaded from the server — or, while the group has none (its copies were lost, no owner
      // holds it yet), asked for again until it has one.
      w.phase = 'loading';
      w.load = new Load(host.now());
    }
    w.load!.mark(key);
    this.a.early(key);
  }

  unhold(g: number): void {
    const { kept, table, host } = this.a;
    const h = kept.held.get(g);
    if (h !== undefined) h.releasing = false;
    // Refused (an owner is not ready yet, this is the last complete copy, or this broker is an
    // owner again since): it stays.
    if (h === undefined || table.isHolder(g, host.self()!)) return;
    this.a.keepReleased(g);
    kept.held.delete(g);
    // The copy is current to here: topics wanted here stay (and are served), the rest go.
    kept.activate(g, ['asked']);
    this.a.topics().dropWhere((t) => this.a.lwgOf(t) === g && kept.wanted.get(t)?.phase !== 'active');
    host.log?.('lwg-released', { lwg: g });
    this.a.resolveKept(g);
    this.a.controls.quieten(g);
  }
}
