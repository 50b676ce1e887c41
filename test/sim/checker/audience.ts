/**
 * Audience properties of elided abcasts (broker/core/audience.ts; PROPERTIES.md
 * leaves payloads out, these are the core's own promise about them):
 * A1 — the members in a message's audience deliver it alike: all with its
 *      payload, or (when no copy with it survived) all as a stub;
 * A2 — a member outside the audience never delivers the payload.
 *
 * The audience is recomputed here, not read from the core: which messages are elided, and which
 * change their origin's place in a stream's audience (`audience: 'add' | 'remove'`), comes from the
 * send entries (the application's own options); each member's audiences come from folding its own
 * deliveries of those changes in delivery order, per stream (total order makes that every member's
 * fold alike; pruning members gone at a view change removes only other members). A message's
 * audience includes its own change (the sequencer stamps it after applying it). The `audience` flag the core
 * writes on a delivery is not used: it is derived from the very stamp under test.
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
import type { MemberId, MessageKey } from '../../../broker/core/log.js';
import { type Run, type Violation, violation } from './model.js';

export function checkAudience(run: Run): Violation[] {
  const elided = new Map<MessageKey, number>();
  const changes = new Map<MessageKey, { origin: MemberId; stream: number; how: 'add' | 'remove' }>();
  for (const [msg, { entry: s }] of run.sends) {
    if (s.order !== 'total') continue;
    if (s.elide === true) elided.set(msg, s.stream ?? 0);
    if (s.audience !== undefined) changes.set(msg, { origin: s.member, stream: s.stream ?? 0, how: s.audience });
  }
  if (elided.size === 0) return [];
  const out: Violation[] = [];
  const copies = new Map<MessageKey, { full: string[]; stub: string[] }>();
  for (const m of run.members) {
    // Whether m is in each stream's audience, by its own changes as it delivered them. Only its own
    // matter to it: a member id joins a view once and comes into an audience only by its own 'add'
    // (others' changes, and the pruning of members gone, never touch it).
    const inAudience = new Map<number, boolean>();
    const lastView = m.installs.at(-1)?.entry.view.id;
    for (const { entry: d } of m.deliveries) {
      const change = changes.get(d.msg);
      if (change?.origin === m.member) inAudience.set(change.stream, change.how === 'add');
      const stream = elided.get(d.msg);
      if (stream === undefined) continue;
      // The message's own change counts: the sequencer stamps it after applying it.
      const inside = inAudience.get(stream) === true;
      if (!inside) {
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
    if (c.full.length > 0 && c.stub.length > 0) out.push(violation('A1', `${msg}: delivered with its payload at ${c.full.join(',')} but as a stub at ${c.stub.join(',')}, all in its audience`));
  }
  return out;
}
