/**
 * Delivery properties D1–D6 (PROPERTIES.md): what is delivered, how often, in which view, and
 * that members moving together between views delivered the same set in the view they leave.
 */
import type { MemberId, MessageKey, ViewRecord } from '../../../broker/core/log.js';
import { type Run, type Violation, deliveredIn, list, missing, transitions, violation } from './model.js';

/** D1: every delivered message has a send entry, by the sender the delivery names, with the same flavor. */
export function checkIntegrity(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    for (const { entry: d } of m.deliveries) {
      const sent = run.sends.get(d.msg)?.entry;
      if (sent === undefined) {
        out.push(violation('D1', `${m.member} delivered ${d.msg} in view ${d.view}, never sent`));
      } else if (sent.member !== d.sender) {
        out.push(violation('D1', `${m.member} delivered ${d.msg} from ${d.sender}, but ${sent.member} sent it`));
      } else if (sent.order !== d.order || sent.safe !== d.safe) {
        // A flavor changed in flight is an altered message, and the order checks would judge it by the wrong rule.
        out.push(
          violation('D1', `${m.member} delivered ${d.msg} as ${d.order}/safe=${d.safe}, sent as ${sent.order}/safe=${sent.safe}`),
        );
      }
    }
  }
  return out;
}

/** D2: a member delivers each message at most once. */
export function checkNoDuplication(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    const seen = new Set<MessageKey>();
    for (const { entry: d } of m.deliveries) {
      if (seen.has(d.msg)) out.push(violation('D2', `${m.member} delivered ${d.msg} again in view ${d.view}`));
      seen.add(d.msg);
    }
  }
  return out;
}

/**
 * D3 (weak form): all deliveries of a message carry one view id — at the members that move on
 * from the view they delivered it in. A member that never installs a later view (it crashed or
 * was excluded there) may have delivered a non-safe message that no survivor got; its origin
 * then multicasts it again in the next view. That is non-uniform delivery, which only `safe`
 * rules out (O5 checks it), so those last-view deliveries are left out here.
 */
export function checkSameView(run: Run): Violation[] {
  const where = new Map<MessageKey, Array<{ member: MemberId; view: number }>>();
  for (const m of run.members) {
    const lastView = m.installs.at(-1)?.entry.view.id;
    for (const { entry: d } of m.deliveries) {
      if (d.view === lastView && m.stopped) continue;
      const at = where.get(d.msg) ?? [];
      at.push({ member: m.member, view: d.view });
      where.set(d.msg, at);
    }
  }
  const out: Violation[] = [];
  for (const [msg, at] of where) {
    if (new Set(at.map((x) => x.view)).size > 1) {
      out.push(violation('D3', `${msg} delivered in several views: ${list(at.map((x) => `${x.member}@${x.view}`))}`));
    }
  }
  return out;
}

/** D4: members with next(p, V) = next(q, V) = W delivered the same set in V. */
export function checkVirtualSynchrony(run: Run): Violation[] {
  // Members grouped by the move V→W they made, in member order; the first of a group is the reference.
  const moves = new Map<string, MemberId[]>();
  for (const m of run.members) {
    for (const { from, to } of transitions(m)) {
      const key = `${from.id}->${to.id}`;
      moves.set(key, [...(moves.get(key) ?? []), m.member]);
    }
  }
  const out: Violation[] = [];
  for (const [key, members] of moves) {
    const viewId = Number(key.split('->')[0]);
    const [first, ...rest] = members.map((id) => ({ id, got: new Set(deliveredIn(run.byId.get(id)!, viewId)) }));
    for (const other of rest) {
      const onlyFirst = missing(first!.got, other.got);
      const onlyOther = missing(other.got, first!.got);
      if (onlyFirst.length + onlyOther.length > 0) {
        out.push(
          violation(
            'D4',
            `move ${key}: ${first!.id} delivered ${list(onlyFirst)} in view ${viewId} that ${other.id} did not,` +
              ` ${other.id} delivered ${list(onlyOther)} that ${first!.id} did not`,
          ),
        );
      }
    }
  }
  return out;
}

/**
 * D5: a member that sends m in V and installs a later view without crashing in between delivered
 * m: in V itself for fifo/causal; in V or a later view for total/group, which a new sequencer
 * may take over and deliver after the view change (unless the member stopped before that, or its
 * log was cut soon after it installed the view right after V: `Run.cut`, the copy sent again there
 * may have been on its way).
 */
export function checkSelfDelivery(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const m of run.members) {
    for (const { entry: s, pos } of m.sends) {
      // A send before any install was in no view; M3 reports it.
      if (!m.installs.some((i) => i.pos < pos)) continue;
      const nextInstall = m.installs.find((i) => i.pos > pos);
      if (nextInstall === undefined) continue;
      const crashed = m.entries.slice(pos + 1, nextInstall.pos).some((e) => e.kind === 'crash');
      if (crashed) continue;
      const resubmittable = s.order === 'total' || s.order === 'group';
      const ok = m.deliveries.some((d) => d.entry.msg === s.msg && (resubmittable ? d.entry.view >= s.view : d.entry.view === s.view));
      // A re-sequenced copy comes back after the view change; a member stopped before then is excused.
      const pendingAtCut = run.cut.has(m.member) && resubmittable && nextInstall === m.installs.at(-1);
      if (!ok && !(resubmittable && (m.stopped || pendingAtCut))) {
        const where = resubmittable ? `in view ${s.view} or later` : `in view ${s.view}`;
        out.push(violation('D5', `${m.member} sent ${s.order} ${s.msg} in view ${s.view}, installed view ${nextInstall.entry.view.id}, never delivered it ${where}`));
      }
    }
  }
  return out;
}

/** D6: members that move into the same W come from the same V, or from views with no member in common. */
export function checkFlushSanity(run: Run): Violation[] {
  // For each W, the distinct views its members came from; a member whose first view is W joined and has none.
  const from = new Map<number, Map<number, { view: ViewRecord; movers: MemberId[] }>>();
  for (const m of run.members) {
    for (const t of transitions(m)) {
      const sources = from.get(t.to.id) ?? new Map<number, { view: ViewRecord; movers: MemberId[] }>();
      const source = sources.get(t.from.id) ?? { view: t.from, movers: [] };
      source.movers.push(m.member);
      sources.set(t.from.id, source);
      from.set(t.to.id, sources);
    }
  }
  const out: Violation[] = [];
  for (const [w, sources] of from) {
    const ordered = [...sources.values()].sort((a, b) => a.view.id - b.view.id);
    for (let i = 0; i < ordered.length; i++) {
      for (let j = i + 1; j < ordered.length; j++) {
        const a = ordered[i]!;
        const b = ordered[j]!;
        const shared = a.view.members.filter((x) => b.view.members.includes(x));
        if (shared.length > 0) {
          out.push(
            violation(
              'D6',
              `view ${w} entered from view ${a.view.id} by ${list(a.movers)} and from view ${b.view.id} by ${list(b.movers)}` +
                `, which share ${list(shared)}`,
            ),
          );
        }
      }
    }
  }
  return out;
}

/**
 * D7 final-view agreement (checked only after the liveness phase): the live members that end in
 * the same final view delivered the same set of messages in it. D4 compares sets only when a view
 * is left; a message lost inside a view that never changes again, and never retransmitted, would
 * otherwise go unseen.
 */
export function checkFinalViewAgreement(run: Run, finalLive: readonly MemberId[]): Violation[] {
  const byView = new Map<number, Array<{ id: MemberId; got: Set<MessageKey> }>>();
  for (const id of [...new Set(finalLive)].sort()) {
    const m = run.byId.get(id);
    const last = m?.installs.at(-1)?.entry.view.id;
    if (m === undefined || last === undefined) continue;
    byView.set(last, [...(byView.get(last) ?? []), { id, got: new Set(deliveredIn(m, last)) }]);
  }
  const out: Violation[] = [];
  for (const [viewId, members] of byView) {
    const all = new Set(members.flatMap((x) => [...x.got]));
    for (const x of members) {
      const lacks = missing(all, x.got);
      if (lacks.length > 0) out.push(violation('D7', `final view ${viewId}: ${x.id} never delivered ${list(lacks)}, which other members of the view delivered`));
    }
  }
  return out;
}
