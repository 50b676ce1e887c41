/**
 * What a flush final holds: which final a round adopts when participants already hold some (or a
 * new cut), and the union of messages it hands on. Pure functions of the round's reports; the
 * coordinator (flush.ts) sends what they decide.
 */
import type { MemberId, ViewRecord } from './log.js';
import type { DataMessage, FlushFinal, FlushState } from './messages.js';
import { isPrimarySuccessor } from './view.js';
import { sameCut } from './cut.js';
import { stubOf } from './audience.js';

/** A round's choice: the final to adopt (none: a new cut) and who takes part in the rest of it. */
export type Choice = { final: FlushFinal | undefined; participants: MemberId[] } | 'step-down' | undefined;

/**
 * Some participants hold a final (scenario 1 in participant.ts): which one this round adopts, or
 * none (a new cut), and who takes part in the rest of the round. At most one final of a view can
 * have been committed, and a committed one is held by every participant of its round — a primary
 * successor of the view. A choice is safe when those that will hold it make a primary successor
 * too: every participant able to take it (holding no other final, having delivered nothing past
 * its cut), and the coordinators that sent it (each held its own before sending it:
 * `sendFinal`). They share no one with the holders of any other final, so no other was
 * committed; and once this round commits it, they hold it, for every later round to find. A new
 * cut is such a choice when those holding no final are a primary successor. An able participant
 * outside the adopted final's next view takes part all the same — it holds the final, which is
 * what makes it safe — and is excluded after the install. Held finals are tried newest first,
 * then a new cut; the first safe choice the coordinator can take part in wins. A safe choice
 * without it: this coordinator steps down (`excluded`: it returns as a new incarnation). No safe
 * choice: no primary here, for now.
 *
 * Taking the newest final alone was not enough: attempts are not ordered across coordinators
 * (two may number a round alike), and a coordinator back from a partition could prefer the final
 * only it held to the one the others had committed, leave them out and find itself without a
 * majority. Nor was counting only those moving on to the final's next view: a final whose
 * coordinator died with the only install, naming members since cut off, moved on with too few,
 * round after round, until every member had given up its incarnation.
 */
export function chooseFinal(view: ViewRecord, self: MemberId, reports: ReadonlyArray<{ member: MemberId; state: FlushState }>): Choice {
  const finals: FlushFinal[] = [];
  for (const { state } of reports) {
    const held = state.prepared;
    if (held === undefined) continue;
    const i = finals.findIndex((f) => sameCut(f, held));
    if (i < 0) finals.push(held);
    else if (held.attempt > finals[i]!.attempt) finals[i] = held;
  }
  finals.sort((a, b) => b.attempt - a.attempt);
  let safeWithout = false;
  for (const final of [...finals, undefined]) {
    const holds = (st: FlushState): boolean => st.prepared !== undefined && final !== undefined && sameCut(st.prepared, final);
    const able = reports.filter(({ state }) => (state.prepared === undefined || holds(state)) && (final === undefined || !Object.entries(state.delivered).some(([sender, seq]) => seq > (final.targets[sender] ?? 0))));
    const holders = new Set(able.map((r) => r.member));
    for (const { state } of able) if (holds(state) && state.preparedBy !== undefined) holders.add(state.preparedBy);
    if (!isPrimarySuccessor(view.members, [...holders])) continue;
    if (!able.some((r) => r.member === self)) {
      safeWithout = true;
      continue;
    }
    return { final, participants: able.map((r) => r.member) };
  }
  return safeWithout ? 'step-down' : undefined;
}

/**
 * The messages some participant may lack, up to the targets, once each — a
 * copy with its payload where any participant holds one (members outside an
 * elided message's audience hold stubs; see audience.ts).
 */
export function unionOf(states: FlushState[], targets: Record<MemberId, number>, stubbed: readonly string[]): DataMessage[] {
  const stubs = new Set(stubbed);
  const floor = new Map<MemberId, number>();
  for (const sender of Object.keys(targets)) floor.set(sender, Math.min(...states.map((s) => s.received[sender] ?? 0)));
  const chosen = new Map<string, DataMessage>();
  for (const st of states) {
    for (const m of st.held) {
      const id = `${m.sender}/${m.seq}`;
      if (m.seq <= (floor.get(m.sender) ?? 0) || m.seq > (targets[m.sender] ?? 0)) continue;
      const had = chosen.get(id);
      // An adopted final's stubs stay stubs: members that delivered it gave no payload for them.
      if (had === undefined || (had.stub === true && m.stub !== true && !stubs.has(id))) chosen.set(id, stubs.has(id) && m.stub !== true ? stubOf(m) : m);
    }
  }
  return [...chosen.values()];
}
