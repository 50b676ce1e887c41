/** Pure helpers about views: coordinator, sequencers, primary-partition rule. */
import type { MemberId, ViewRecord } from './log.js';

/**
 * The primary-partition rule: `next` may follow `previous` only if it holds a
 * majority of `previous`'s members, or exactly half of them including the
 * oldest (`previous.members[0]`) — the tie-break that lets a 2|2 split of four
 * go on on one side only.
 */
export function isPrimarySuccessor(previous: readonly MemberId[], next: readonly MemberId[]): boolean {
  const inNext = new Set(next);
  const kept = previous.filter((m) => inNext.has(m)).length;
  if (2 * kept > previous.length) return true;
  return 2 * kept === previous.length && inNext.has(previous[0]!);
}

/**
 * Whether no primary can ever follow the view `members` where this member (`self`) is: the members
 * newer incarnations replaced (they asked to join) never come back, and those left are no primary
 * successor of it — a view of two whose oldest crashed, or whose other member left for good.
 * Not if this member holds a final (`heldNext`, each one's next view) that lists another member
 * not replaced, with enough of them for a primary successor of that next view: it may be installed
 * and live on elsewhere. (A final naming only `self`, or only the replaced besides, was installed
 * nowhere.)
 */
export function noPrimaryAhead(members: readonly MemberId[], replaced: ReadonlySet<MemberId>, heldNext: ReadonlyArray<readonly MemberId[]>, self: MemberId): boolean {
  if (replaced.size === 0) return false;
  const lost = (view: readonly MemberId[]): boolean => !isPrimarySuccessor(view, view.filter((m) => !replaced.has(m)));
  if (!lost(members)) return false;
  return heldNext.every((next) => !next.some((m) => m !== self && !replaced.has(m)) || lost(next));
}

/** The sequencer of an abcast stream: streams are spread over the members in view order. */
export function sequencerOf(view: ViewRecord, stream: number): MemberId {
  return view.members[stream % view.members.length]!;
}

/** Incarnation-aware name split: `broker-1#3` → [`broker-1`, `3`]. */
export function memberName(member: MemberId): string {
  const hash = member.lastIndexOf('#');
  return hash < 0 ? member : member.slice(0, hash);
}
