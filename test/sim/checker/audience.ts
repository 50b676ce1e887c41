/**
 * Audience properties of elided abcasts (broker/core/audience.ts; PROPERTIES.md
 * leaves payloads out, these are the core's own promise about them):
 * A1 — the members in a message's audience deliver it alike: all with its
 *      payload, or (when no copy with it survived) all as a stub;
 * A2 — a member outside the audience never delivers the payload.
 *
 * As in D3 and O3, A1 leaves out what a member delivered in the view it then crashed or was
 * excluded from. The payload of an elided abcast travels only to its audience (and stays whole
 * at the sequencer that multicast it); if every member that holds a copy with it is cut off or
 * dies before the view change, the survivors' flush can relay only stubs, and they all deliver
 * the stub — while a member on the losing side may already have delivered the payload (or,
 * having delivered a final the survivors never adopted, a stub where they got the payload). That
 * is non-uniform delivery of the payload, the same thing D3 excuses for whole messages; what the
 * core promises is that the members moving on together deliver the message alike. The check
 * reads only the logs' own install, crash and excluded entries to tell who moved on.
 */
import type { MessageKey } from '../../../broker/core/log.js';
import { type Run, type Violation, violation } from './model.js';

export function checkAudience(run: Run): Violation[] {
  const out: Violation[] = [];
  const copies = new Map<MessageKey, { full: string[]; stub: string[] }>();
  for (const m of run.members) {
    const lastView = m.installs.at(-1)?.entry.view.id;
    for (const { entry: d } of m.deliveries) {
      if (d.audience === undefined) continue;
      if (!d.audience) {
        // A2 holds everywhere, survivors or not: a payload outside the audience is a leak.
        if (d.stub !== true) out.push(violation('A2', `${m.member} delivered the payload of ${d.msg} outside its audience`));
        continue;
      }
      if (m.stopped && d.view === lastView) continue;
      let c = copies.get(d.msg);
      if (c === undefined) copies.set(d.msg, (c = { full: [], stub: [] }));
      (d.stub === true ? c.stub : c.full).push(m.member);
    }
  }
  for (const [msg, c] of copies) {
    if (c.full.length > 0 && c.stub.length > 0) out.push(violation('A1', `${msg}: delivered with its payload at ${c.full.join(',')} but as a stub at ${c.stub.join(',')}`));
  }
  return out;
}
