/**
 * Audience properties of elided abcasts (broker/core/audience.ts; PROPERTIES.md
 * leaves payloads out, these are the core's own promise about them):
 * A1 — the members in a message's audience deliver it alike: all with its
 *      payload, or (when no copy with it survived a crash) all as a stub;
 * A2 — a member outside the audience never delivers the payload.
 */
import type { MessageKey } from '../../../broker/core/log.js';
import { type Run, type Violation, violation } from './model.js';

export function checkAudience(run: Run): Violation[] {
  const out: Violation[] = [];
  const copies = new Map<MessageKey, { full: string[]; stub: string[] }>();
  for (const m of run.members) {
    for (const { entry: d } of m.deliveries) {
      if (d.audience === undefined) continue;
      if (!d.audience) {
        if (d.stub !== true) out.push(violation('A2', `${m.member} delivered the payload of ${d.msg} outside its audience`));
        continue;
      }
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
