/**
 * Membership properties M1–M6 (PROPERTIES.md), plus LOG: the well-formedness the other checks
 * lean on (a deliver's `view` field is the view the member had installed, nothing happens after
 * a member stopped), so that a simulator or core bug in what is logged is reported as such.
 */
import type { MemberId, ViewRecord } from '../../../broker/core/log.js';
import { type MemberLog, type Run, type Violation, list, violation } from './model.js';

/** LOG: entries name their own member, carry the current view id, and stop when the member stops. */
export function checkLogShape(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    let current: number | undefined;
    let stoppedBy: string | undefined;
    m.entries.forEach((e, pos) => {
      if (e.member !== m.member) out.push(violation('LOG', `${m.member} entry ${pos} (${e.kind}) names member ${e.member}`));
      const acts = e.kind === 'install' || e.kind === 'send' || e.kind === 'deliver';
      if (acts && stoppedBy !== undefined) {
        out.push(violation('LOG', `${m.member} ${e.kind} at entry ${pos} after '${stoppedBy}'`));
      }
      if (e.kind === 'install') current = e.view.id;
      // Before the first install there is no current view; M3 reports that case.
      if ((e.kind === 'send' || e.kind === 'deliver') && current !== undefined && e.view !== current) {
        out.push(violation('LOG', `${m.member} ${e.kind} ${e.msg} says view ${e.view} but view ${current} is installed`));
      }
      if ((e.kind === 'crash' || e.kind === 'excluded') && stoppedBy === undefined) stoppedBy = e.kind;
    });
  }
  return out;
}

/** M1: install(p, V) ⇒ p ∈ V.members. */
export function checkSelfInclusion(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    for (const { entry } of m.installs) {
      if (!entry.view.members.includes(m.member)) {
        out.push(violation('M1', `${m.member} installed view ${entry.view.id} ${list(entry.view.members)} without itself`));
      }
    }
  }
  return out;
}

/** M2: the view ids a member installs strictly increase (a restart is a new member id, so no reset). */
export function checkMonotoneViews(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    for (let i = 1; i < m.installs.length; i++) {
      const before = m.installs[i - 1]!.entry.view.id;
      const after = m.installs[i]!.entry.view.id;
      if (after <= before) out.push(violation('M2', `${m.member} installed view ${after} after view ${before}`));
    }
  }
  return out;
}

/** M3: no send or deliver before the member's first install. */
export function checkNoTrafficBeforeView(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    const first = m.installs[0]?.pos ?? Infinity;
    for (const { entry, pos } of [...m.sends, ...m.deliveries]) {
      if (pos < first) out.push(violation('M3', `${m.member} ${entry.kind} ${entry.msg} before its first install`));
    }
  }
  return out;
}

function sameRecord(a: ViewRecord, b: ViewRecord): boolean {
  // The order counts: members[0] is the coordinator and M5's tie-break names the oldest member.
  return a.primary === b.primary && a.members.length === b.members.length && a.members.every((x, i) => x === b.members[i]);
}

/** M4: every install of a view id carries the same member list (in order) and primary flag. */
export function checkViewAgreement(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    for (const { entry } of m.installs) {
      const agreed = run.views.get(entry.view.id)!;
      if (!sameRecord(agreed, entry.view)) {
        out.push(
          violation(
            'M4',
            `view ${entry.view.id}: ${m.member} installed ${list(entry.view.members)}${entry.view.primary ? '' : ' non-primary'}` +
              ` but others ${list(agreed.members)}${agreed.primary ? '' : ' non-primary'}`,
          ),
        );
      }
    }
  }
  return out;
}

/**
 * Whether W may follow V as the next primary view: W keeps a strict majority of V, or exactly
 * half of it including V's oldest member (the tie-break that lets two members go on without one).
 */
export function isPrimarySuccessor(v: ViewRecord, w: ViewRecord): boolean {
  const kept = v.members.filter((x) => w.members.includes(x)).length;
  if (2 * kept > v.members.length) return true;
  const oldest = v.members[0];
  return 2 * kept === v.members.length && oldest !== undefined && w.members.includes(oldest);
}

/**
 * M5: consecutive primary views (by id, over every install in the run) share a majority of the
 * older; no delivery in a view marked non-primary, nor after a member's own 'non-primary' entry
 * unless the view's flush follows (see nonPrimaryDeliveries). The clause about a majority having installed a newer view needs a
 * global clock the logs lack; the per-member 'non-primary' entry is what stands in for it.
 */
export function checkPrimaryComponent(run: Run): Violation[] {
  const out: Violation[] = [];
  const primaries = [...run.views.values()].filter((v) => v.primary).sort((a, b) => a.id - b.id);
  for (let i = 1; i < primaries.length; i++) {
    const v = primaries[i - 1]!;
    const w = primaries[i]!;
    if (!run.founded.has(w.id) && !isPrimarySuccessor(v, w)) {
      out.push(violation('M5', `primary view ${w.id} ${list(w.members)} keeps no majority of view ${v.id} ${list(v.members)}`));
    }
  }
  for (const m of run.members) out.push(...nonPrimaryDeliveries(m));
  return out;
}

/**
 * After its 'non-primary' entry a member delivers nothing in the normal way. It may still deliver
 * the old view's flush before its next install: a flush needs a round of a majority of the view,
 * which a minority cannot complete, so those deliveries are the ones everybody moving on agreed.
 * Deliveries after 'non-primary' that no install (nor a crash or exclusion) follows are reported.
 */
function nonPrimaryDeliveries(m: MemberLog): Violation[] {
  const out: Violation[] = [];
  let current: ViewRecord | undefined;
  let minority = false;
  let pending: Array<{ msg: string; view: number }> = [];
  for (const e of m.entries) {
    if (e.kind === 'install' || e.kind === 'crash' || e.kind === 'excluded') {
      if (e.kind === 'install') current = e.view;
      minority = false;
      pending = [];
    } else if (e.kind === 'non-primary') {
      minority = true;
    } else if (e.kind === 'deliver' && current?.primary === false) {
      out.push(violation('M5', `${m.member} delivered ${e.msg} in non-primary view ${current.id}`));
    } else if (e.kind === 'deliver' && minority) {
      pending.push({ msg: e.msg, view: e.view });
    }
  }
  for (const p of pending) out.push(violation('M5', `${m.member} delivered ${p.msg} in view ${p.view} after its 'non-primary' entry and never moved on`));
  return out;
}

/** M6: every live connected member's last install is one view whose members are exactly them. */
export function checkConvergence(run: Run, finalLive: readonly MemberId[]): Violation[] {
  const out: Violation[] = [];
  const live = [...new Set(finalLive)].sort();
  const finals = new Map<number, ViewRecord>();
  const lastIds: string[] = [];
  for (const id of live) {
    const last = run.byId.get(id)?.installs.at(-1)?.entry.view;
    if (last === undefined) {
      out.push(violation('M6', `live member ${id} never installed a view`));
      continue;
    }
    finals.set(last.id, last);
    lastIds.push(`${id}@${last.id}`);
  }
  if (finals.size > 1) out.push(violation('M6', `live members end in different views: ${list(lastIds)}`));
  for (const v of finals.values()) {
    const members = [...new Set(v.members)].sort();
    if (members.length !== live.length || members.some((x, i) => x !== live[i])) {
      out.push(violation('M6', `final view ${v.id} is ${list(v.members)} but the live members are ${list(live)}`));
    }
  }
  return out;
}
