/**
 * The lightweight-group table every broker keeps identically. For each group:
 * - its *owners*: the R brokers of the view with the highest rendezvous score
 *   (the first sequences the group's stream) — where its state should live;
 * - its *holders*: the brokers that keep the state and history of all its
 *   topics, each *ready* once its copy is complete. An owner becomes a holder
 *   by an ordered `hold`, gets a snapshot at that position from a ready holder
 *   and says `ready`; a holder that is no longer an owner says `unhold` once
 *   every owner is ready, so a view change moves state before anyone drops it;
 * - its *wants*: per topic, the brokers with a local subscriber to it (they
 *   keep that topic only, from a snapshot at the position of their `want`).
 * Its *members* — holders and wanting brokers — receive its traffic; everyone
 * else gets only ordering stubs (broker/core/audience.ts).
 *
 * It changes only by `installView` and by controls delivered in the stream's
 * order (`apply`), so every broker computes the same table. Pure logic: it
 * knows views only as lists of member ids and imports nothing from the broker.
 */
import { lwgOf } from './hash.js';
import { ownersOf } from './owners.js';

export interface LwgConfig {
  /** Number of lightweight groups, fixed per deployment. Default 32. */
  lwgCount: number;
  /** Owners per group (capped by the view size). Default 2. */
  replicas: number;
}

export const lwgConfigDefault: LwgConfig = { lwgCount: 32, replicas: 2 };

/**
 * An ordered control of the group layer, about the broker that multicast it, on its group's
 * stream. `n` is that broker's own tag for the request a `hold`/`want` belongs to (the table
 * ignores it; the broker tells its current request from an older one still on its way).
 */
export type LwgControl =
  | { op: 'hold'; lwg: number; n?: number }
  | { op: 'ready'; lwg: number }
  | { op: 'unhold'; lwg: number }
  | { op: 'want'; lwg: number; topic: string; n?: number }
  | { op: 'unwant'; lwg: number; topic: string }
  /** The broker keeps nothing of the group any more: changes no table, carries it out of the stream's audience. */
  | { op: 'idle'; lwg: number };

export interface LwgInfo {
  lwg: number;
  owners: string[];
  sequencer: string;
  holders: Array<{ broker: string; ready: boolean }>;
  /** Holders, then brokers that want some topic of the group, in view order. */
  members: string[];
}

interface Group {
  holders: string[];
  ready: Set<string>;
  wants: Map<string, Set<string>>;
}

export type LwgTableSnapshot = Array<[number, string[], string[], Array<[string, string[]]>]>;

export class LwgTable {
  private view: readonly string[] = [];
  private owners: string[][] = [];
  private readonly groups: Group[];

  constructor(readonly config: LwgConfig = lwgConfigDefault) {
    if (!Number.isSafeInteger(config.lwgCount) || config.lwgCount < 1) throw new RangeError('lwgCount must be a positive integer');
    if (!Number.isSafeInteger(config.replicas) || config.replicas < 1) throw new RangeError('replicas must be a positive integer');
    this.groups = Array.from({ length: config.lwgCount }, () => ({ holders: [], ready: new Set(), wants: new Map() }));
  }

  lwgOf(topic: string): number {
    return lwgOf(topic, this.config.lwgCount);
  }

  /**
   * A new view: owners are chosen again, brokers that left drop out of every group. Returns the
   * groups whose every ready holder left while others were still waiting for their copy: their
   * state is lost, and the remaining holders are declared ready (they start again from nothing).
   */
  installView(members: readonly string[]): number[] {
    this.view = [...members];
    this.owners = Array.from({ length: this.config.lwgCount }, (_, lwg) => ownersOf(lwg, this.view, this.config.replicas));
    const inView = new Set(members);
    const lost: number[] = [];
    this.groups.forEach((g, lwg) => {
      const hadReady = g.ready.size > 0;
      g.holders = g.holders.filter((b) => inView.has(b));
      for (const b of [...g.ready]) if (!inView.has(b)) g.ready.delete(b);
      for (const [topic, set] of [...g.wants]) {
        for (const b of [...set]) if (!inView.has(b)) set.delete(b);
        if (set.size === 0) g.wants.delete(topic);
      }
      if (hadReady && g.ready.size === 0) {
        for (const b of g.holders) g.ready.add(b);
        lost.push(lwg);
      }
    });
    return lost;
  }

  /** Applies a control from `broker`, delivered in the stream's order. */
  apply(broker: string, control: LwgControl): void {
    const g = this.groups[control.lwg];
    if (g === undefined || !this.view.includes(broker)) return;
    switch (control.op) {
      case 'hold':
        if (!g.holders.includes(broker)) g.holders.push(broker);
        // Nobody has a copy to give (a new group, or one whose holders all left): start empty.
        if (g.ready.size === 0) g.ready.add(broker);
        return;
      case 'ready':
        if (g.holders.includes(broker)) g.ready.add(broker);
        return;
      case 'unhold':
        // Let go only once every owner has a complete copy, and never the last complete copy
        // (an `unhold` is said on the table as it was; a view change may have come since).
        if (!this.ownersReady(control.lwg) || (g.ready.has(broker) && g.ready.size === 1)) return;
        g.holders = g.holders.filter((b) => b !== broker);
        g.ready.delete(broker);
        return;
      case 'want': {
        let set = g.wants.get(control.topic);
        if (set === undefined) g.wants.set(control.topic, (set = new Set()));
        set.add(broker);
        return;
      }
      case 'unwant': {
        const set = g.wants.get(control.topic);
        set?.delete(broker);
        if (set?.size === 0) g.wants.delete(control.topic);
        return;
      }
      case 'idle':
        return;
    }
  }

  ownersOf(lwg: number): string[] {
    return this.owners[lwg] ?? [];
  }

  holders(lwg: number): readonly string[] {
    return this.groups[lwg]?.holders ?? [];
  }

  isHolder(lwg: number, broker: string): boolean {
    return this.groups[lwg]?.holders.includes(broker) ?? false;
  }

  isReady(lwg: number, broker: string): boolean {
    return this.groups[lwg]?.ready.has(broker) ?? false;
  }

  /** The ready holder that answers for the group (snapshots, results): the first in holding order. */
  server(lwg: number, except?: string): string | undefined {
    const g = this.groups[lwg];
    return g?.holders.find((b) => b !== except && g.ready.has(b));
  }

  wants(lwg: number, topic: string, broker: string): boolean {
    return this.groups[lwg]?.wants.get(topic)?.has(broker) ?? false;
  }

  /** Whether `broker` keeps `topic` (so it works out a command's result itself). */
  keeps(topic: string, broker: string): boolean {
    const lwg = this.lwgOf(topic);
    return this.isHolder(lwg, broker) || this.wants(lwg, topic, broker);
  }

  /** Every owner of the group holds a complete copy: holders that are not owners may drop theirs. */
  ownersReady(lwg: number): boolean {
    return this.ownersOf(lwg).every((b) => this.isReady(lwg, b));
  }

  info(lwg: number): LwgInfo {
    const owners = this.ownersOf(lwg);
    const g = this.groups[lwg]!;
    const wanting = new Set<string>();
    for (const set of g.wants.values()) for (const b of set) wanting.add(b);
    const members = [...g.holders, ...this.view.filter((b) => wanting.has(b) && !g.holders.includes(b))];
    return { lwg, owners, sequencer: owners[0] ?? '', holders: g.holders.map((broker) => ({ broker, ready: g.ready.has(broker) })), members };
  }

  all(): LwgInfo[] {
    return Array.from({ length: this.config.lwgCount }, (_, lwg) => this.info(lwg));
  }

  /** Plain data for a joiner (the core hands it over with the view). */
  snapshot(): LwgTableSnapshot {
    return this.groups.map((g, lwg) => [lwg, [...g.holders], [...g.ready], [...g.wants].map(([topic, set]) => [topic, [...set]] as [string, string[]])]);
  }

  restore(data: LwgTableSnapshot): void {
    for (const [lwg, holders, ready, wants] of data) {
      const g = this.groups[lwg];
      if (g === undefined) continue;
      g.holders = [...holders];
      g.ready = new Set(ready);
      g.wants = new Map(wants.map(([topic, set]) => [topic, new Set(set)]));
    }
  }
}
