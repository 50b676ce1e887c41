/**
 * How a waiting group's wait ends (lightweight-groups/table.ts keeps the wait; docs/mesh.md,
 * "Waiting groups"): when every awaited broker has answered, or the wait is given up, the longest
 * copy offered wins and its broker serves the group again — or, with none offered, the remaining
 * holders start it again empty; a holder whose own load completes meanwhile ends the wait with its
 * copy. Only the copy the wait ended with is complete: other holders load from it. Pure, on the
 * table's per-group record.
 */

/** How a group's wait ended (the agent acts on it: load the copy, drop what is behind it, or start empty). */
export type LwgSettled =
  /** `server`'s copy, complete to `pos`; `behind`: the others delivered topic commands past it before the wait (at `at`). */
  | { lwg: number; server: string; pos: number; at: number; behind: boolean }
  /** No copy came back: the group starts again, empty, at its remaining holders. */
  | { lwg: number; server: undefined };

/** A group waiting for its copy: `id` tells one wait from the next. */
export interface LwgWait {
  id: number;
  /** The stream position when the last ready holder left (commands since are refused). */
  at: number;
  /** The position of the last topic command delivered by then: a copy complete to here lacks nothing. */
  last: number;
  /** Names of the brokers whose copies it waits for. */
  awaiting: string[];
  /** Copies offered so far: the member and the position its copy is complete to. */
  offers: Array<[string, number]>;
}

/** What a wait changes of a group's record in the table. */
export interface WaitingGroup {
  holders: string[];
  ready: Set<string>;
  ended: number;
  wait?: LwgWait;
}

/** Every awaited broker answered (or the wait was given up): the longest copy offered, or none. */
export function settleWithOffers(lwg: number, g: WaitingGroup, w: LwgWait): LwgSettled {
  let best: [string, number] | undefined;
  for (const offer of w.offers) if (best === undefined || offer[1] > best[1]) best = offer;
  if (best !== undefined) {
    if (!g.holders.includes(best[0])) g.holders.unshift(best[0]);
    g.ready.add(best[0]);
    return settle(lwg, g, best[0], best[1]);
  }
  // No copy came back: the state is lost; the remaining holders start again, empty.
  delete g.wait;
  g.ended++;
  for (const b of g.holders) g.ready.add(b);
  return { lwg, server: undefined };
}

/** The wait ends with `server`'s copy, complete to `pos`. */
export function settle(lwg: number, g: WaitingGroup, server: string, pos: number): LwgSettled {
  const { at, last } = g.wait!;
  delete g.wait;
  g.ended++;
  // Only the copy the wait ended with is complete: other holders load from it.
  for (const b of [...g.ready]) if (b !== server) g.ready.delete(b);
  return { lwg, server, pos, at, behind: pos < last };
}

/** A wait's own copy (a snapshot for a joiner, the cluster view, a restore). */
export function copyWait(w: LwgWait): LwgWait {
  return { id: w.id, at: w.at, last: w.last, awaiting: [...w.awaiting], offers: w.offers.map(([m, p]) => [m, p]) };
}
