/** A member's state in one line, for diagnostics (the simulator prints it when a run does not converge). */
import type { MemberId, ViewRecord } from './log.js';

/** What the description reads of a member (structural, so this file needs nothing from member.ts). */
export interface Describable {
  readonly id: MemberId;
  readonly status: string;
  readonly view: ViewRecord | undefined;
  readonly frozen: boolean;
  readonly nonPrimary: boolean;
  readonly participant: { following: { coordinator: MemberId; attempt: number } | undefined; preparedById: ReadonlyMap<number, unknown> };
  readonly leaving: ReadonlySet<MemberId>;
  readonly coordinator: { describe(): string };
  readonly outgoing: { pending: ReadonlyMap<string, unknown>; queuedCount: number };
  isSuspected(member: MemberId): boolean;
  coordinatorOf(): MemberId;
}

export function describeMember(m: Describable): string {
  const f = m.participant.following;
  const flags = [m.frozen ? 'frozen' : '', m.nonPrimary ? 'non-primary' : ''].filter(Boolean).join(',');
  return [
    `${m.id} ${m.status} v${m.view?.id ?? '-'}[${m.view?.members.join(',') ?? ''}] ${flags}`,
    `following=${f === undefined ? '-' : `${f.coordinator}/a${f.attempt}`} prepared=[${[...m.participant.preparedById.keys()]}]`,
    `suspects=[${(m.view?.members ?? []).filter((x) => m.isSuspected(x))}] leaving=[${[...m.leaving]}] coord=${m.coordinatorOf()}`,
    `${m.coordinator.describe()} pending=${m.outgoing.pending.size} queued=${m.outgoing.queuedCount}`,
  ].join(' ');
}
