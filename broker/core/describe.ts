/** A member's state in one line, for diagnostics (the simulator prints it when a run does not converge). */
import type { Member } from './member.js';

export function describeMember(m: Member): string {
  const f = m.participant.following;
  const flags = [m.frozen ? 'frozen' : '', m.nonPrimary ? 'non-primary' : ''].filter(Boolean).join(',');
  return [
    `${m.id} ${m.status} v${m.view?.id ?? '-'}[${m.view?.members.join(',') ?? ''}] ${flags}`,
    `following=${f === undefined ? '-' : `${f.coordinator}/a${f.attempt}`} prepared=[${[...m.participant.preparedById.keys()]}]`,
    `suspects=[${(m.view?.members ?? []).filter((x) => m.isSuspected(x))}] leaving=[${[...m.leaving]}] coord=${m.coordinatorOf()}`,
    `${m.coordinator.describe()} pending=${m.outgoing.pending.size} queued=${m.outgoing.queuedCount}`,
  ].join(' ');
}
