/**
 * Where a group's stream is sequenced: the core places it at the group's first owner at every
 * view change, wherever its publishers are, so a publish taken by another broker crosses one more
 * hop before it is ordered, and safe delivery then waits a hop for that broker's acknowledgement
 * of the order it got back. A broker that sent nearly all of a stream's messages lately takes the
 * stream over (core `takeOver`, broker/core/takeovers.ts): its publishes are then ordered where
 * they are taken, and reach the other brokers in one hop.
 *
 * Each broker counts, per stream, the messages delivered and its own among them, and looks every
 * `lookMs`: with at least `messagesMin` messages since its last look and at least `shareMin` of
 * them its own, and the stream sequenced elsewhere, it asks. Over the same second at most one
 * broker holds three quarters of a stream, so two publishing steadily never pull it back and
 * forth; a stream with publishers spread over brokers stays where the view placed it. (Looks are
 * not aligned between brokers: publishers taking turns in bursts of a second can move a stream
 * each second — a delay of about a round of stability each time, nothing lost.) A view change
 * puts every stream back, and the broker asks again after its next look.
 */
import type { MessageKey, MulticastOptions } from '../core/index.js';

export interface TakeoverGroup {
  readonly id: string;
  sequencerOf(stream: number): string;
  multicast(payload: unknown, options: MulticastOptions): MessageKey;
}

/** When a broker asks to take a stream over (the defaults are the product's; the simulator asks sooner). */
export interface TakeoverSettings {
  /** How often the broker looks, ms. */
  lookMs: number;
  /** Messages on the stream since the last look, at least. */
  messagesMin: number;
  /** This broker's share of them, at least (above one half, so two brokers never pull a stream back and forth). */
  shareMin: number;
}

export const takeoverDefaults: TakeoverSettings = { lookMs: 1000, messagesMin: 20, shareMin: 0.75 };

export class TakeoverPolicy {
  /** Per stream since the last look: messages delivered, and how many were this broker's. */
  private readonly seen = new Map<number, { all: number; own: number }>();
  private lookedAt = 0;
  /** Take-overs asked for (for the cluster view and the tests). */
  askedTotal = 0;
  private readonly settings: TakeoverSettings;

  constructor(settings: Partial<TakeoverSettings> = {}) {
    this.settings = { ...takeoverDefaults, ...settings };
    if (!(this.settings.shareMin > 0.5 && this.settings.shareMin <= 1)) throw new Error(`takeover shareMin must be in (0.5, 1], got ${this.settings.shareMin}`);
  }

  /** A message delivered on `stream` (a batch counts once). */
  delivered(stream: number, own: boolean): void {
    let s = this.seen.get(stream);
    if (s === undefined) this.seen.set(stream, (s = { all: 0, own: 0 }));
    s.all++;
    if (own) s.own++;
  }

  tick(now: number, group: TakeoverGroup | undefined): void {
    const { lookMs, messagesMin, shareMin } = this.settings;
    if (now - this.lookedAt < lookMs) return;
    this.lookedAt = now;
    if (group !== undefined) {
      for (const [stream, { all, own }] of this.seen) {
        if (all < messagesMin || own < all * shareMin || group.sequencerOf(stream) === group.id) continue;
        group.multicast({ takeOver: stream }, { order: 'total', safe: true, stream, takeOver: true });
        this.askedTotal++;
      }
    }
    this.seen.clear();
  }
}
