/**
 * Failure detection by silence: a member not heard from (in the current view
 * or a newer one) for `suspectTicks` is suspected. Every message counts as a
 * heartbeat; heartbeats proper fill the silences. Only the members of the
 * current view are tracked.
 */
import type { MemberId } from './log.js';

export class FailureDetector {
  private readonly lastHeard = new Map<MemberId, number>();

  constructor(private readonly suspectTicks: number) {}

  heard(member: MemberId, now: number): void {
    this.lastHeard.set(member, now);
  }

  silentTooLong(member: MemberId, now: number): boolean {
    return now - (this.lastHeard.get(member) ?? -Infinity) > this.suspectTicks;
  }

  /** A new view: everyone in it starts as just heard; members gone are forgotten. */
  onInstall(members: readonly MemberId[], now: number): void {
    for (const m of [...this.lastHeard.keys()]) if (!members.includes(m)) this.lastHeard.delete(m);
    for (const m of members) this.lastHeard.set(m, now);
  }
}
