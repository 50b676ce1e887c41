/**
 * The checker's index of a run: each member's log split by entry kind, every entry keeping its
 * position in its member's log (the only clock a log has: there is no global time across members).
 * Everything here is pure; the property modules only read it.
 */
import type { LogEntry, MemberId, MessageKey, ViewRecord } from '../../../broker/core/log.js';

export interface Violation {
  /** 'LOG', 'M1'..'M6', 'D1'..'D7', 'O1'..'O5' (PROPERTIES.md), 'A1', 'A2' (audiences), 'S1'..'S3' (state digests). */
  property: string;
  message: string;
}

export type InstallEntry = Extract<LogEntry, { kind: 'install' }>;
export type SendEntry = Extract<LogEntry, { kind: 'send' }>;
export type DeliverEntry = Extract<LogEntry, { kind: 'deliver' }>;
export type StateEntry = Extract<LogEntry, { kind: 'state' }>;

/** An entry and its position in its member's log. */
export interface At<E> {
  entry: E;
  pos: number;
}

export interface MemberLog {
  member: MemberId;
  entries: readonly LogEntry[];
  installs: At<InstallEntry>[];
  sends: At<SendEntry>[];
  deliveries: At<DeliverEntry>[];
  /** The application's state digests (written by the runtime from what it was handed, not by the core). */
  states: At<StateEntry>[];
  /** Crashed or excluded somewhere in the log: gone for good (a restart is a new member id). */
  stopped: boolean;
}

export interface Run {
  /** Sorted by member id, so that every report comes out in the same order for the same logs. */
  members: MemberLog[];
  byId: Map<MemberId, MemberLog>;
  /** The first send entry of each message, over members in sorted order (resubmissions may log more). */
  sends: Map<MessageKey, At<SendEntry>>;
  /** One record per installed view id, the first seen in member order; M4 reports any disagreement. */
  views: Map<number, ViewRecord>;
  /** Ids of views founded anew (a group started again after a total loss): no predecessor to check. */
  founded: Set<number>;
  /** Members whose logs were cut soon after their last view change (`RunLogs.cut`). */
  cut: ReadonlySet<MemberId>;
}

export function violation(property: string, message: string): Violation {
  return { property, message };
}

export function indexMember(member: MemberId, entries: readonly LogEntry[]): MemberLog {
  const log: MemberLog = { member, entries, installs: [], sends: [], deliveries: [], states: [], stopped: false };
  entries.forEach((entry, pos) => {
    switch (entry.kind) {
      case 'install':
        log.installs.push({ entry, pos });
        break;
      case 'send':
        log.sends.push({ entry, pos });
        break;
      case 'deliver':
        log.deliveries.push({ entry, pos });
        break;
      case 'state':
        log.states.push({ entry, pos });
        break;
      case 'crash':
      case 'excluded':
        log.stopped = true;
        break;
      case 'non-primary':
        break;
      default: {
        const never: never = entry;
        throw new Error(`unknown log entry ${JSON.stringify(never)}`);
      }
    }
  });
  return log;
}

export function indexRun(logs: ReadonlyMap<MemberId, readonly LogEntry[]>, cut: ReadonlySet<MemberId> = new Set()): Run {
  const members = [...logs.keys()].sort().map((id) => indexMember(id, logs.get(id) ?? []));
  const sends = new Map<MessageKey, At<SendEntry>>();
  const views = new Map<number, ViewRecord>();
  const founded = new Set<number>();
  for (const m of members) {
    for (const s of m.sends) if (!sends.has(s.entry.msg)) sends.set(s.entry.msg, s);
    for (const i of m.installs) {
      if (!views.has(i.entry.view.id)) views.set(i.entry.view.id, i.entry.view);
      if (i.entry.founded === true) founded.add(i.entry.view.id);
    }
  }
  return { members, byId: new Map(members.map((m) => [m.member, m])), sends, views, founded, cut };
}

/** Every (V, W) with W = next(p, V): the member's consecutive installs. */
export function transitions(m: MemberLog): Array<{ from: ViewRecord; to: ViewRecord }> {
  const out: Array<{ from: ViewRecord; to: ViewRecord }> = [];
  for (let i = 1; i < m.installs.length; i++) {
    out.push({ from: m.installs[i - 1]!.entry.view, to: m.installs[i]!.entry.view });
  }
  return out;
}

/** D(p, V): by the deliver entries' own `view` field (LOG checks that it matches the installed view). */
export function deliveredIn(m: MemberLog, viewId: number): MessageKey[] {
  return m.deliveries.filter((d) => d.entry.view === viewId).map((d) => d.entry.msg);
}

/** Position of each message's first delivery at this member. */
export function deliveryPositions(m: MemberLog): Map<MessageKey, number> {
  const out = new Map<MessageKey, number>();
  for (const d of m.deliveries) if (!out.has(d.entry.msg)) out.set(d.entry.msg, d.pos);
  return out;
}

/** Elements of `a` missing from `b`, in `a`'s order. */
export function missing<T>(a: Iterable<T>, b: ReadonlySet<T>): T[] {
  return [...a].filter((x) => !b.has(x));
}

export function list(items: readonly unknown[]): string {
  return `[${items.join(', ')}]`;
}
