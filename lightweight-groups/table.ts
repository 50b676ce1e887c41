/**
 * The lightweight-group table every broker keeps identically: for each group,
 * its owners and sequencer (from the current view), the brokers interested in
 * it (with a local subscriber to one of its topics), and so its members —
 * owners ∪ interested. It changes only by `installView` and by ordered control
 * messages (`apply`), delivered in the same order at every broker, so every
 * broker agrees at which stream position a broker joined or left a group.
 *
 * Pure logic: it knows views only as lists of member ids, and imports nothing
 * from the broker.
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

/** An ordered control message of the group layer (carried by the core group's gbcast). */
export type LwgControl = { kind: 'interest'; lwg: number; broker: string } | { kind: 'disinterest'; lwg: number; broker: string };

export interface LwgInfo {
  lwg: number;
  owners: string[];
  sequencer: string;
  /** Owners first, then interested brokers in view order. */
  members: string[];
}

export class LwgTable {
  private view: readonly string[] = [];
  private owners: string[][] = [];
  /** lwg → brokers with a local subscriber. */
  private readonly interested = new Map<number, Set<string>>();

  constructor(readonly config: LwgConfig = lwgConfigDefault) {
    if (!Number.isSafeInteger(config.lwgCount) || config.lwgCount < 1) throw new RangeError('lwgCount must be a positive integer');
    if (!Number.isSafeInteger(config.replicas) || config.replicas < 1) throw new RangeError('replicas must be a positive integer');
  }

  lwgOf(topic: string): number {
    return lwgOf(topic, this.config.lwgCount);
  }

  /** A new view: owners are chosen again; brokers that left lose their interest. */
  installView(members: readonly string[]): void {
    this.view = [...members];
    this.owners = Array.from({ length: this.config.lwgCount }, (_, lwg) => ownersOf(lwg, this.view, this.config.replicas));
    const inView = new Set(members);
    for (const set of this.interested.values()) for (const b of [...set]) if (!inView.has(b)) set.delete(b);
  }

  /** Applies an ordered control message; returns whether it changed anything. */
  apply(control: LwgControl): boolean {
    if (!this.view.includes(control.broker) || control.lwg < 0 || control.lwg >= this.config.lwgCount) return false;
    let set = this.interested.get(control.lwg);
    if (set === undefined) this.interested.set(control.lwg, (set = new Set()));
    if (control.kind === 'interest') {
      if (set.has(control.broker)) return false;
      set.add(control.broker);
      return true;
    }
    return set.delete(control.broker);
  }

  info(lwg: number): LwgInfo {
    const owners = this.owners[lwg] ?? [];
    const interested = this.interested.get(lwg) ?? new Set<string>();
    const members = [...owners, ...this.view.filter((b) => interested.has(b) && !owners.includes(b))];
    return { lwg, owners, sequencer: owners[0] ?? '', members };
  }

  /** Whether `broker` receives the group's traffic. */
  isMember(lwg: number, broker: string): boolean {
    return this.info(lwg).members.includes(broker);
  }

  /** Groups `broker` owns (it keeps their state and history). */
  ownedBy(broker: string): number[] {
    return this.owners.flatMap((owners, lwg) => (owners.includes(broker) ? [lwg] : []));
  }

  all(): LwgInfo[] {
    return Array.from({ length: this.config.lwgCount }, (_, lwg) => this.info(lwg));
  }
}

/**
 * Receiver-side filtering: a member of a group gets all of its traffic and
 * keeps, for its local subscribers, only the topics they want. Returns whether
 * to keep the message; the caller counts what it drops. Owners keep every
 * topic (they hold state and history for all of them).
 */
export function keepOnReceipt(owner: boolean, topic: string, hasLocalSubscriber: (topic: string) => boolean): boolean {
  return owner || hasLocalSubscriber(topic);
}
