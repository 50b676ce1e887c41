/**
 * The requests a member repeats until they take effect: asking to join
 * (through its contacts), announcing that it leaves, and telling a stale
 * member of an older view that it was excluded (at most once per retry
 * period each, so a chatty stale member cannot make this one flood).
 */
import type { CoreConfig } from './config.js';
import type { MemberId, ViewRecord } from './log.js';
import type { PeerMessage } from './messages.js';

export interface NoticesHost {
  readonly id: MemberId;
  readonly now: number;
  readonly config: CoreConfig;
  readonly view: ViewRecord | undefined;
  /** The highest view id this process saw (member.ts). */
  readonly viewSeen: number;
  send(to: string, message: PeerMessage): void;
}

export class Notices {
  /** This member announced that it leaves. */
  leaving = false;
  private contacts: string[] = [];
  private joining = false;
  private lastJoinAt = -Infinity;
  private lastLeaveAt = -Infinity;
  private readonly excludedAt = new Map<MemberId, number>();

  constructor(private readonly host: NoticesHost) {}

  startJoining(contacts: readonly string[]): void {
    this.contacts = [...contacts];
    this.joining = true;
    this.askToJoin();
  }

  /** New contacts (seeds found again through DNS); used from the next request on. */
  setContacts(contacts: readonly string[]): void {
    this.contacts = [...contacts];
  }

  stopJoining(): void {
    this.joining = false;
  }

  startLeaving(): void {
    this.leaving = true;
    this.announceLeave();
  }

  /** Repeats what is due. */
  tick(): void {
    const h = this.host;
    if (this.joining && h.now - this.lastJoinAt >= h.config.retryTicks) this.askToJoin();
    if (this.leaving && h.now - this.lastLeaveAt >= h.config.retryTicks) this.announceLeave();
  }

  excluded(to: MemberId): void {
    const h = this.host;
    if (h.view === undefined || h.now - (this.excludedAt.get(to) ?? -Infinity) < h.config.retryTicks) return;
    this.excludedAt.set(to, h.now);
    // Remember only recent notices: the map must not grow with every stale member ever met.
    if (this.excludedAt.size > 1024) for (const [m, at] of this.excludedAt) if (h.now - at >= h.config.retryTicks) this.excludedAt.delete(m);
    h.send(to, { kind: 'excluded', view: h.view.id });
  }

  private askToJoin(): void {
    this.lastJoinAt = this.host.now;
    const seen = this.host.viewSeen;
    for (const contact of this.contacts) this.host.send(contact, { kind: 'join', view: 0, joiner: this.host.id, ...(seen > 0 ? { seen } : {}) });
  }

  private announceLeave(): void {
    const h = this.host;
    this.lastLeaveAt = h.now;
    for (const m of h.view?.members ?? []) if (m !== h.id) h.send(m, { kind: 'leave', view: h.view!.id });
  }
}
