/** Comparing flush finals by what they make a member deliver. */
import type { FlushFinal } from './messages.js';

/**
 * Two finals that deliver the same and lead to the same view: the same targets, the same
 * gbcasts, the same next view. A member that delivered one final says done to no other, so two
 * rounds cannot both complete with different next views of one id (M4).
 */
export function sameCut(a: FlushFinal, b: FlushFinal): boolean {
  if (a.next.id !== b.next.id || a.next.members.length !== b.next.members.length || a.next.members.some((m, i) => m !== b.next.members[i])) return false;
  const keys = new Set([...Object.keys(a.targets), ...Object.keys(b.targets)]);
  for (const k of keys) if ((a.targets[k] ?? 0) !== (b.targets[k] ?? 0)) return false;
  if (!sameSet(a.stubbed ?? [], b.stubbed ?? [])) return false;
  return a.group.length === b.group.length && a.group.every((g, i) => g.key === b.group[i]!.key);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
