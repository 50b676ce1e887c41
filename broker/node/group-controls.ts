/**
 * This broker's controls on lightweight-group streams (`hold`, `want`, …):
 * multicast as safe abcasts on the group's stream, carrying this broker into
 * or out of the stream's audience (broker/core/audience.ts) as its interest
 * in the group changes. The control that makes it interested brings it in;
 * `idle` takes it out once it keeps nothing of the group — a hold is let go
 * only when its `unhold` is delivered and accepted, so the broker never
 * misses a payload it still needs.
 */
import type { MessageKey, MulticastOptions } from '../core/index.js';
import type { LwgControl } from '../../lightweight-groups/index.js';

export class GroupControls {
  /** Groups whose stream audience this broker is in (as far as its own controls say). */
  private readonly audience = new Set<number>();
  /** Own controls multicast and not delivered yet. */
  private readonly inFlight = new Set<MessageKey>();
  /** Controls that could not go out (not a member just then), sent at the next view. */
  private readonly unsent: LwgControl[] = [];

  constructor(
    private readonly multicast: (payload: unknown, options: MulticastOptions) => MessageKey | undefined,
    /** Whether this broker keeps (or is loading) anything of the group, or offers a copy to its wait. */
    private readonly interested: (lwg: number) => boolean,
  ) {}

  send(c: LwgControl): void {
    const options: MulticastOptions = { order: 'total', safe: true, stream: c.lwg };
    if (c.op === 'idle') options.audience = 'remove';
    else if (this.interested(c.lwg) && !this.audience.has(c.lwg)) options.audience = 'add';
    const key = this.multicast({ lwg: c }, options);
    if (key === undefined) {
      if (this.unsent.length < 100_000) this.unsent.push(c);
      return;
    }
    if (options.audience === 'add') this.audience.add(c.lwg);
    if (options.audience === 'remove') this.audience.delete(c.lwg);
    this.inFlight.add(key);
  }

  /** Keeping nothing of a group any more: leave its audience (its payloads stop coming). */
  quieten(lwg: number): void {
    if (this.audience.has(lwg) && !this.interested(lwg)) this.send({ op: 'idle', lwg });
  }

  /** An own control was delivered. */
  delivered(key: MessageKey): void {
    this.inFlight.delete(key);
  }

  /** Whether `key` is an own control still on its way (a snapshot for it may come first). */
  isInFlight(key: MessageKey): boolean {
    return this.inFlight.has(key);
  }

  /** A view was installed: what could not go out goes now. */
  sendUnsent(): void {
    for (const c of this.unsent.splice(0)) this.send(c);
  }

  reset(): void {
    this.audience.clear();
    this.inFlight.clear();
    this.unsent.length = 0;
  }
}
