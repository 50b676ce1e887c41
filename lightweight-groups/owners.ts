/**
 * Owners of a lightweight group: the R brokers of the view with the highest
 * rendezvous score for it (R capped by the view size); the first is the
 * group's sequencer. Rendezvous hashing moves only the groups a joining or
 * leaving broker wins or held, about 1/n of them, and needs no shared table.
 * Brokers are scored by name, not incarnation, so a restarted broker takes
 * back the same groups (receiving their state again by transfer).
 */
import { rendezvousScore } from './hash.js';

/** The broker name of a member id `name#incarnation`. */
export function brokerName(member: string): string {
  const hash = member.lastIndexOf('#');
  return hash < 0 ? member : member.slice(0, hash);
}

export function ownersOf(lwg: number, members: readonly string[], replicas: number): string[] {
  return [...members]
    .map((m) => ({ m, score: rendezvousScore(brokerName(m), lwg) }))
    .sort((a, b) => b.score - a.score || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0))
    .slice(0, Math.max(1, Math.min(replicas, members.length)))
    .map((x) => x.m);
}
