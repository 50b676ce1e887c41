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
import type { Action } from './actions.js';
import type { AbcastLanes } from './sequencer.js';
import type { StreamAudiences } from './audience.js';
import type { MemberId, MessageKey, ViewRecord } from './log.js';
import type { Install, PeerMessage } from './messages.js';
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
  emit(action: Action): void;
  /** What a joiner takes over from its install: keys delivered, abcast lanes, stream audiences. */
  readonly deliverer: { readonly keys: { add(key: MessageKey): void } };
  readonly lanes: Pick<AbcastLanes, 'restore'>;
  readonly audiences: Pick<StreamAudiences, 'restore'>;
  /** Joined: a member from this view on. */
  becomeMember(view: ViewRecord): void;
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
    // A newer incarnation asking in means the old one is gone: every member takes note (one left in
    // a view that can no longer be a primary learns so here, view.ts `noPrimaryAhead`).
    for (const m of h.view.members) if (m !== joiner && memberName(m) === memberName(joiner)) h.detector.replaced.add(m);
    const coordinator = h.coordinatorOf();
    if (coordinator !== h.id) return h.send(coordinator, { kind: 'join', view: h.view.id, joiner });
    this.pending.add(joiner);
  }

  /**
   * At a joiner, an install that names it. The coordinator's install for joiners carries what a
   * joiner takes over: the application's state (set before anything of the view is delivered),
   * the gbcast keys already delivered, the abcast lanes and the streams' audiences. A member's
   * resend of its own install (participant.ts) is bare: taking that one would start this member
   * with no lanes, and it would sequence nobody's abcasts but its own.
   */
  takeInstall(m: Install): void {
    const h = this.host;
    if (m.lanes === undefined) return;
    if (m.state !== undefined) h.emit({ kind: 'set-state', state: m.state.value });
    for (const key of m.groupKeys ?? []) h.deliverer.keys.add(key);
    h.lanes.restore(m.lanes);
    h.audiences.restore(m.audiences ?? []);
    h.becomeMember(m.next);
  }

  /** A view was installed: its joiners are in, and those that left it are gone for good. */
  onInstall(previous: readonly MemberId[], next: ViewRecord): void {
    for (const m of previous) if (!next.members.includes(m)) this.departed.add(m);
    for (const m of next.members) this.pending.delete(m);
  }
}
