/** Comparing flush finals by what they make a member deliver. */
import type { FlushFinal } from './messages.js';

/** Two finals that deliver the same: the same targets and the same gbcasts. */
export function sameCut(a: FlushFinal, b: FlushFinal): boolean {
  const keys = new Set([...Object.keys(a.targets), ...Object.keys(b.targets)]);
  for (const k of keys) if ((a.targets[k] ?? 0) !== (b.targets[k] ?? 0)) return false;
  return a.group.length === b.group.length && a.group.every((g, i) => g.key === b.group[i]!.key);
}
