/**
 * The lightweight-group table every broker keeps identically. For each group:
 * - its *owners*: where its state should live — the brokers that *claim* the
 *   group (in the order their claims were delivered: brokers where most of
 *   its traffic is taken or delivered, broker/node/claim-policy.ts), then the
 *   brokers of the view with the highest rendezvous score, R in all. Claims
 *   outlive views; a claim leaves with its broker;
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
 * A group whose every ready holder leaves at one view change is *waiting*: its
 * state lives only in those brokers' copies (excluded by a partition, say), so
 * nobody may start it again empty. Its commands are refused, and it waits for
 * each of those brokers, by name, to come back and say `salvage` — with the
 * position its copy was complete to, or none (a process restarted from
 * nothing). When all have answered, the longest copy wins and its broker is
 * the group's server again; with none, the group starts empty (lost). A
 * holder whose own load completes meanwhile (`ready`) ends the wait with its
 * copy, which is current; `give-up` (after a bounded wait) settles with the
 * offers so far. Positions count the deliveries of the group's stream, the
 * same at every broker (a joiner gets them with the table).
 *
 * It changes only by `installView` and by controls delivered in the stream's
 * order (`apply`), so every broker computes the same table. Pure logic: it
 * knows views only as lists of member ids and imports nothing from the broker.
 */
import { lwgOf } from './hash.js';
import { brokerName, ownersOf } from './owners.js';
import { copyWait, settle, settleWithOffers, type LwgSettled, type LwgWait } from './waits.js';

export type { LwgSettled, LwgWait } from './waits.js';

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
  /**
   * The broker's copy is complete. `ended`: the group's waits that had ended when it said so — a
   * wait that ended since went on without this copy (the broker loads again), so it does not count.
   */
  | { op: 'ready'; lwg: number; ended?: number }
  | { op: 'unhold'; lwg: number }
  | { op: 'want'; lwg: number; topic: string; n?: number }
  | { op: 'unwant'; lwg: number; topic: string }
  /** The broker asks to be one of the group's owners (most of the group's traffic is its own lately); `unclaim` withdraws. */
  | { op: 'claim'; lwg: number }
  | { op: 'unclaim'; lwg: number }
  /** The broker keeps nothing of the group any more: changes no table, carries it out of the stream's audience. */
  | { op: 'idle'; lwg: number }
  /** A broker the waiting group (`wait`: which wait) waits for: its copy is complete to stream position `pos`, or it has none. */
  | { op: 'salvage'; lwg: number; wait: number; pos?: number }
  /** The waiting group stops waiting for brokers that did not come back: the best copy offered so far, or empty. */
  | { op: 'give-up'; lwg: number; wait: number };

export interface LwgInfo {
  lwg: number;
  owners: string[];
  /** Where the view places the group's stream (its highest rendezvous score; claims do not move it). */
  sequencer: string;
  /** Brokers that claim the group, in the order their claims were delivered. */
  claims: string[];
  holders: Array<{ broker: string; ready: boolean }>;
  /** Holders, then brokers that want some topic of the group, in view order. */
  members: string[];
  /** Waiting for a copy (its last ready holders left at once). */
  waiting?: LwgWait;
}

interface Group {
  holders: string[];
  ready: Set<string>;
  wants: Map<string, Set<string>>;
  /** Brokers that claim the group (owners first), in the order their claims were delivered. */
  claims: string[];
  /** Deliveries on the group's stream so far, and the position of the last topic command among them. */
  pos: number;
  last: number;
  /**
   * Holders that let go of a ready copy in this view. The owners were ready, but an owner cut off
   * before the end of the view may not have delivered what such a holder applied and answered; if
   * every ready copy then leaves at the view change, the wait waits for these copies too.
   */
  released: string[];
  /** Waits so far (the id of the last one), and of them those that ended. */
  waits: number;
  ended: number;
  wait?: LwgWait;
}

/** Per group: holders, ready holders, wants by topic, and the stream's positions and wait. */
export type LwgTableSnapshot = Array<[number, string[], string[], Array<[string, string[]]>, { pos: number; last: number; waits: number; ended: number; released: string[]; wait?: LwgWait; claims?: string[] }?]>;

export class LwgTable {
  private view: readonly string[] = [];
  private owners: string[][] = [];
  /** Per group, the view's rendezvous order of owners (the first sequences the stream). */
  private placed: string[][] = [];
  /** Per group, its leader (`leader`), and a count that changes whenever any group's leader does. */
  private leaders: string[] = [];
  leadership = 0;
  private readonly groups: Group[];

  constructor(readonly config: LwgConfig = lwgConfigDefault) {
    if (!Number.isSafeInteger(config.lwgCount) || config.lwgCount < 1) throw new RangeError('lwgCount must be a positive integer');
    if (!Number.isSafeInteger(config.replicas) || config.replicas < 1) throw new RangeError('replicas must be a positive integer');
    this.groups = Array.from({ length: config.lwgCount }, () => ({ holders: [], ready: new Set(), wants: new Map(), claims: [], pos: 0, last: 0, waits: 0, ended: 0, released: [] }));
  }

  lwgOf(topic: string): number {
    return lwgOf(topic, this.config.lwgCount);
  }

  /**
   * A new view: owners are chosen again, brokers that left drop out of every group. Returns the
   * groups that start waiting now: their every ready holder left at this view change, so their
   * state lives only in those brokers' copies.
   */
  installView(members: readonly string[]): number[] {
    this.view = [...members];
    this.placed = Array.from({ length: this.config.lwgCount }, (_, lwg) => ownersOf(lwg, this.view, this.config.replicas));
    const inView = new Set(members);
    const waiting: number[] = [];
    this.groups.forEach((g, lwg) => {
      g.claims = g.claims.filter((b) => inView.has(b));
      const gone = [...g.ready].filter((b) => !inView.has(b));
      g.holders = g.holders.filter((b) => inView.has(b));
      for (const b of gone) g.ready.delete(b);
      for (const [topic, set] of [...g.wants]) {
        for (const b of [...set]) if (!inView.has(b)) set.delete(b);
        if (set.size === 0) g.wants.delete(topic);
      }
      if (g.wait !== undefined) {
        // An offered copy whose broker left may come back with it (excluded again): wait for it again.
        for (const [m] of g.wait.offers) if (!inView.has(m) && !g.wait.awaiting.includes(brokerName(m))) g.wait.awaiting.push(brokerName(m));
        g.wait.offers = g.wait.offers.filter(([m]) => inView.has(m));
      } else if (gone.length > 0 && g.ready.size === 0) {
        g.wait = { id: ++g.waits, at: g.pos, last: g.last, awaiting: [...new Set([...gone, ...g.released].map(brokerName))], offers: [] };
        waiting.push(lwg);
      }
      g.released = [];
    });
    this.owners = this.groups.map((_, lwg) => this.chooseOwners(lwg));
    this.groups.forEach((_, lwg) => this.noteLeader(lwg));
    return waiting;
  }

  /** Claims first (in their order), then the view's rendezvous order: R brokers, or the view. */
  private chooseOwners(lwg: number): string[] {
    const claims = this.groups[lwg]!.claims;
    const placed = this.placed[lwg] ?? [];
    if (claims.length === 0) return [...placed];
    const r = Math.max(1, Math.min(this.config.replicas, this.view.length));
    const owners = claims.slice(0, r);
    for (const b of ownersOf(lwg, this.view, this.view.length)) {
      if (owners.length >= r) break;
      if (!owners.includes(b)) owners.push(b);
    }
    return owners;
  }

  /** One delivery on the group's stream: a topic command (or its stub), or a control. */
  advance(lwg: number, command: boolean): void {
    const g = this.groups[lwg];
    if (g === undefined) return;
    g.pos++;
    if (command) g.last = g.pos;
  }

  /** Deliveries on the group's stream so far: where a copy kept to here is complete. */
  position(lwg: number): number {
    return this.groups[lwg]?.pos ?? 0;
  }

  /** How many of the group's waits have ended (said with `ready`). */
  waitsEnded(lwg: number): number {
    return this.groups[lwg]?.ended ?? 0;
  }

  /** The group's wait for a copy, if it waits. */
  waiting(lwg: number): LwgWait | undefined {
    return this.groups[lwg]?.wait;
  }

  /** Whether the group waits for `member`'s answer or holds its offer (its copy may still be taken). */
  awaits(lwg: number, member: string): boolean {
    const w = this.groups[lwg]?.wait;
    return w !== undefined && (w.awaiting.includes(brokerName(member)) || w.offers.some(([m]) => m === member));
  }

  /**
   * Applies a control from `broker`, delivered in the stream's order. Returns how a group's wait
   * ended, when this control ended it.
   */
  apply(broker: string, control: LwgControl): LwgSettled | undefined {
    const settled = this.applyControl(broker, control);
    this.noteLeader(control.lwg);
    return settled;
  }

  /**
   * The broker that leads the group: its first owner with a complete copy (or its first owner,
   * while none has one) — the one that announces what the group's order decides (rooms, `$sys`).
   */
  leader(lwg: number): string | undefined {
    return this.leaders[lwg];
  }

  private noteLeader(lwg: number): void {
    const owners = this.ownersOf(lwg);
    const leader = owners.find((b) => this.isReady(lwg, b)) ?? owners[0];
    if (leader !== undefined && leader !== this.leaders[lwg]) this.leadership++;
    if (leader !== undefined) this.leaders[lwg] = leader;
  }

  private applyControl(broker: string, control: LwgControl): LwgSettled | undefined {
    const g = this.groups[control.lwg];
    if (g === undefined || !this.view.includes(broker)) return undefined;
    switch (control.op) {
      case 'hold':
        if (!g.holders.includes(broker)) g.holders.push(broker);
        // Nobody has a copy to give (a new group): start empty. Not while the group waits for one.
        if (g.ready.size === 0 && g.wait === undefined) g.ready.add(broker);
        return undefined;
      case 'ready':
        if (!g.holders.includes(broker) || (control.ended !== undefined && control.ended < g.ended)) return undefined;
        g.ready.add(broker);
        // A load that completed meanwhile is current (the commands it missed were refused).
        if (g.wait !== undefined) return settle(control.lwg, g, broker, g.pos);
        return undefined;
      case 'unhold':
        // Let go only once every owner has a complete copy, never the last complete copy, and not
        // by an owner (an `unhold` is said on the table as it was; a view change or a claim may
        // have made its broker an owner again since).
        if (!this.ownersReady(control.lwg) || (g.ready.has(broker) && g.ready.size === 1) || this.ownersOf(control.lwg).includes(broker)) return undefined;
        g.holders = g.holders.filter((b) => b !== broker);
        if (g.ready.delete(broker)) g.released.push(broker);
        return undefined;
      case 'want': {
        let set = g.wants.get(control.topic);
        if (set === undefined) g.wants.set(control.topic, (set = new Set()));
        set.add(broker);
        return undefined;
      }
      case 'unwant': {
        const set = g.wants.get(control.topic);
        set?.delete(broker);
        if (set?.size === 0) g.wants.delete(control.topic);
        return undefined;
      }
      case 'salvage': {
        const w = g.wait;
        const name = brokerName(broker);
        if (w === undefined || w.id !== control.wait || !w.awaiting.includes(name)) return undefined;
        w.awaiting = w.awaiting.filter((b) => b !== name);
        if (typeof control.pos === 'number' && Number.isSafeInteger(control.pos) && control.pos >= 0 && control.pos <= w.at) w.offers.push([broker, control.pos]);
        return w.awaiting.length === 0 ? settleWithOffers(control.lwg, g, w) : undefined;
      }
      case 'give-up':
        if (g.wait === undefined || g.wait.id !== control.wait) return undefined;
        return settleWithOffers(control.lwg, g, g.wait);
      case 'claim':
      case 'unclaim':
        if (control.op === 'claim' && !g.claims.includes(broker)) g.claims.push(broker);
        if (control.op === 'unclaim') g.claims = g.claims.filter((b) => b !== broker);
        this.owners[control.lwg] = this.chooseOwners(control.lwg);
        return undefined;
      case 'idle':
        return undefined;
    }
  }

  ownersOf(lwg: number): string[] {
    return this.owners[lwg] ?? [];
  }

  /** Brokers that claim the group, in their claims' order. */
  claims(lwg: number): readonly string[] {
    return this.groups[lwg]?.claims ?? [];
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
    const info: LwgInfo = { lwg, owners, sequencer: this.placed[lwg]?.[0] ?? '', claims: [...g.claims], holders: g.holders.map((broker) => ({ broker, ready: g.ready.has(broker) })), members };
    if (g.wait !== undefined) info.waiting = copyWait(g.wait);
    return info;
  }

  all(): LwgInfo[] {
    return Array.from({ length: this.config.lwgCount }, (_, lwg) => this.info(lwg));
  }

  /** Plain data for a joiner (the core hands it over with the view). */
  snapshot(): LwgTableSnapshot {
    return this.groups.map((g, lwg) => {
      const wants = [...g.wants].map(([topic, set]) => [topic, [...set]] as [string, string[]]);
      const stream: NonNullable<LwgTableSnapshot[number][4]> = { pos: g.pos, last: g.last, waits: g.waits, ended: g.ended, released: [...g.released], claims: [...g.claims] };
      if (g.wait !== undefined) stream.wait = copyWait(g.wait);
      return [lwg, [...g.holders], [...g.ready], wants, stream];
    });
  }

  restore(data: LwgTableSnapshot): void {
    for (const [lwg, holders, ready, wants, stream] of data) {
      const g = this.groups[lwg];
      if (g === undefined) continue;
      g.holders = [...holders];
      g.ready = new Set(ready);
      g.wants = new Map(wants.map(([topic, set]) => [topic, new Set(set)]));
      g.pos = stream?.pos ?? 0;
      g.last = stream?.last ?? 0;
      g.waits = stream?.waits ?? 0;
      g.ended = stream?.ended ?? 0;
      g.released = [...(stream?.released ?? [])];
      g.claims = [...(stream?.claims ?? [])];
      const wait = stream?.wait;
      if (wait === undefined) delete g.wait;
      else g.wait = copyWait(wait);
    }
    if (this.view.length > 0) {
      this.owners = this.groups.map((_, lwg) => this.chooseOwners(lwg));
      this.groups.forEach((_, lwg) => this.noteLeader(lwg));
    }
  }
}
