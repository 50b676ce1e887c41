/**
 * Joins, at the members' end. A join reaches the coordinator (any member forwards it), which
 * admits it at its next view change (flush.ts). A member id that left a view never enters one
 * again: a late join of an incarnation already removed — a joiner paused before it installed
 * its view, a join that a stalled member forwards seconds later — is answered `excluded`, and a
 * joiner told so starts again as a new incarnation (member.ts). Admitted again, it would put a
 * member that is gone into the view, and every safe delivery would wait for it until it was
 * suspected once more (a chaos run saw that three views in a row).
 */
import { BoundedSet } from './bounded-set.js';
import type { MemberId, ViewRecord } from './log.js';
import type { PeerMessage } from './messages.js';
import { memberName } from './view.js';

export interface JoinsHost {
  readonly id: MemberId;
  readonly status: string;
  readonly view: ViewRecord | undefined;
  readonly detector: { readonly replaced: Set<MemberId> };
  readonly coordinator: { resendInstall(to: MemberId): void };
  coordinatorOf(): MemberId;
  send(to: MemberId, message: PeerMessage): void;
  /** Tells `to` it was excluded (rate-limited, notices.ts). */
  tellExcluded(to: MemberId): void;
}

/** How many departed member ids a member remembers (a few per view change; ids are never reused). */
const departedMax = 4096;

export class Joins {
  /** At the coordinator: joiners for the next view change. */
  readonly pending = new Set<MemberId>();
  /** Member ids that were in a view this member installed and left it. */
  private readonly departed = new BoundedSet<MemberId>(departedMax);

  constructor(private readonly host: JoinsHost) {}

  onJoin(joiner: MemberId): void {
    const h = this.host;
    if (h.status !== 'member' || h.view === undefined || joiner === h.id) return;
    if (h.view.members.includes(joiner)) return h.coordinator.resendInstall(joiner);
    if (this.departed.has(joiner)) return h.tellExcluded(joiner);
    const coordinator = h.coordinatorOf();
    if (coordinator !== h.id) return h.send(coordinator, { kind: 'join', view: h.view.id, joiner });
    this.pending.add(joiner);
    // A newer incarnation asking in means the old one is gone.
    for (const m of h.view.members) if (m !== joiner && memberName(m) === memberName(joiner)) h.detector.replaced.add(m);
  }

  /** A view was installed: its joiners are in, and those that left it are gone for good. */
  onInstall(previous: readonly MemberId[], next: ViewRecord): void {
    for (const m of previous) if (!next.members.includes(m)) this.departed.add(m);
    for (const m of next.members) this.pending.delete(m);
  }
}
