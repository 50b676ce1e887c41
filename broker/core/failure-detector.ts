/**
 * Who this member takes for gone. A member is suspected when it has been
 * silent (in the current view or a newer one) for `suspectTicks` — every
 * message counts as a heartbeat — or when it is known dead or unusable:
 * - replaced: a newer incarnation of it asked to join;
 * - forced out: it never answered a round of this coordinator;
 * - a complainer: its latest heartbeat said it cannot hear this coordinator
 *   (a one-way link), which would otherwise freeze the group.
 * Only members of the current view are tracked; the marks end with the view.
 */
import type { MemberId } from './log.js';

export class FailureDetector {
  private readonly lastHeard = new Map<MemberId, number>();
  readonly replaced = new Set<MemberId>();
  readonly forcedOut = new Set<MemberId>();
  readonly complainers = new Set<MemberId>();

  constructor(private readonly suspectTicks: number) {}

  heard(member: MemberId, now: number): void {
    this.lastHeard.set(member, now);
  }

  silentTooLong(member: MemberId, now: number): boolean {
    return now - (this.lastHeard.get(member) ?? -Infinity) > this.suspectTicks;
  }

  /** The members (other than `self`) silent too long: what a heartbeat reports. */
  silentAmong(members: readonly MemberId[], self: MemberId, now: number): MemberId[] {
    return members.filter((m) => m !== self && this.silentTooLong(m, now));
  }

  isSuspected(member: MemberId, now: number): boolean {
    return this.replaced.has(member) || this.forcedOut.has(member) || this.complainers.has(member) || this.silentTooLong(member, now);
  }

  /** A heartbeat's list of suspects: a member that suspects this coordinator complains until it stops saying so. */
  onSuspects(from: MemberId, suspects: readonly MemberId[] | undefined, self: MemberId, coordinating: boolean): void {
    if (coordinating && suspects?.includes(self) === true) this.complainers.add(from);
    else this.complainers.delete(from);
  }

  /** A new view: everyone in it starts as just heard; members gone and every mark are forgotten. */
  onInstall(members: readonly MemberId[], now: number): void {
    for (const m of [...this.lastHeard.keys()]) if (!members.includes(m)) this.lastHeard.delete(m);
    for (const m of members) this.lastHeard.set(m, now);
    for (const m of [...this.replaced]) if (!members.includes(m)) this.replaced.delete(m);
    this.forcedOut.clear();
    this.complainers.clear();
  }
}
