/**
 * State-digest properties. The runtime (the simulator's application, test/sim/app.ts) logs a
 * digest of the state it built from the deliveries the core handed it, at every install and at
 * the end of a run; a joiner's comes from the core's state transfer. The core writes none of it,
 * so these predicates judge what the application saw, not what the core says it did:
 * S1 — members that install W coming from the same V hold equal digests at that install;
 * S2 — a joiner's digest at its first install (the state it was handed) equals that of the members
 *      moving into the same view (among them the sender of its state);
 * S3 — at the end of a healed run, every live member of the final view holds the same digest.
 * A digest is compared only where the log has one (a log without state entries checks nothing).
 */
import type { MemberId } from '../../../broker/core/log.js';
import { type MemberLog, type Run, type Violation, list, violation } from './model.js';

function installDigest(m: MemberLog, viewId: number): string | undefined {
  return m.states.find((s) => s.entry.at === 'install' && s.entry.view === viewId)?.entry.digest;
}

export function checkStates(run: Run): Violation[] {
  const out: Violation[] = [];
  // S1: per move V→W, the digests at W's install.
  const moves = new Map<string, Array<{ member: MemberId; digest: string }>>();
  const movers = new Map<number, Array<{ member: MemberId; digest: string }>>();
  for (const m of run.members) {
    for (let i = 1; i < m.installs.length; i++) {
      const from = m.installs[i - 1]!.entry.view.id;
      const to = m.installs[i]!.entry.view.id;
      const digest = installDigest(m, to);
      if (digest === undefined) continue;
      const key = `${from}->${to}`;
      moves.set(key, [...(moves.get(key) ?? []), { member: m.member, digest }]);
      movers.set(to, [...(movers.get(to) ?? []), { member: m.member, digest }]);
    }
  }
  for (const [key, at] of moves) {
    const distinct = new Set(at.map((x) => x.digest));
    if (distinct.size > 1) out.push(violation('S1', `move ${key}: members hold different states at the install: ${list(at.map((x) => `${x.member}=${x.digest}`))}`));
  }
  // S2: a joiner's first install against the members that moved into it.
  for (const m of run.members) {
    const first = m.installs[0]?.entry;
    if (first === undefined || first.founded === true || run.founded.has(first.view.id)) continue;
    const digest = installDigest(m, first.view.id);
    const others = movers.get(first.view.id);
    if (digest === undefined || others === undefined) continue;
    if (!others.some((o) => o.digest === digest)) {
      out.push(violation('S2', `${m.member} joined view ${first.view.id} with state ${digest}, but the members moving into it hold ${list(others.map((o) => `${o.member}=${o.digest}`))}`));
    }
  }
  return out;
}

/** S3: the final view's live members end with one state (checked only after the liveness phase). */
export function checkFinalStates(run: Run, finalLive: readonly MemberId[]): Violation[] {
  const at: Array<{ member: MemberId; view: number; digest: string }> = [];
  for (const id of [...new Set(finalLive)].sort()) {
    const end = run.byId.get(id)?.states.filter((s) => s.entry.at === 'end').at(-1)?.entry;
    if (end !== undefined) at.push({ member: id, view: end.view, digest: end.digest });
  }
  // Members ending in different views are M6's to report.
  const byView = new Map<number, typeof at>();
  for (const x of at) byView.set(x.view, [...(byView.get(x.view) ?? []), x]);
  const out: Violation[] = [];
  for (const [view, xs] of byView) {
    if (new Set(xs.map((x) => x.digest)).size > 1) out.push(violation('S3', `final view ${view}: members end with different states: ${list(xs.map((x) => `${x.member}=${x.digest}`))}`));
  }
  return out;
}
