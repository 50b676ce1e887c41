/**
 * Notes between brokers beside the core group's traffic, on the same links:
 * a lightweight group's server sends a snapshot (of a group, or of one topic)
 * taken at the position of the asking broker's control, and the result of a
 * command to the broker that took it when that broker keeps no complete copy
 * (broker/mesh/replicas.ts). What comes from a peer is checked element by
 * element before anything is replaced: peers are authenticated, but a bug or
 * a version skew must cost a refused note, never the process or a
 * half-restored table.
 */
import type { MessageKey } from '../core/index.js';
import type { ApplyResult, TableSnapshot } from '../topics/index.js';

export type PeerNote =
  | { kind: 'lwg-snap'; key: MessageKey; lwg: number; topic?: string; snapshot: TableSnapshot }
  | { kind: 'lwg-result'; key: MessageKey; result: ApplyResult }
  /** The sender has a subscriber to `$sys` (the admin page): publish your figures there for a while (broker/main/sys-driver.ts). */
  | { kind: 'sys-watch' };

/** The note in what a peer sent, if it is one and well formed (undefined otherwise: core traffic, or refused). */
export function peerNote(value: unknown): PeerNote | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  // Brokers of an older version drop it as a core message of an unknown kind.
  if (v['kind'] === 'sys-watch') return { kind: 'sys-watch' };
  if (typeof v['key'] !== 'string') return undefined;
  if (v['kind'] === 'lwg-result') {
    const r = v['result'] as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object') return undefined;
    const ok = r['ok'] === true ? isInt(r['seq']) : r['ok'] === false && isInt(r['code']) && isStr(r['message']);
    return ok ? (value as PeerNote) : undefined;
  }
  if (v['kind'] === 'lwg-snap') {
    if (!Number.isSafeInteger(v['lwg']) || (v['topic'] !== undefined && typeof v['topic'] !== 'string')) return undefined;
    if (!isTableSnapshot(v['snapshot'])) return undefined;
    return value as PeerNote;
  }
  return undefined;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** A table snapshot, element by element. */
export function isTableSnapshot(v: unknown): v is TableSnapshot {
  if (v === null || typeof v !== 'object') return false;
  const s = v as { topics?: unknown; dedup?: unknown };
  if (!Array.isArray(s.topics) || !Array.isArray(s.dedup)) return false;
  for (const t of s.topics as unknown[]) {
    if (t === null || typeof t !== 'object') return false;
    const r = t as Record<string, unknown>;
    if (!isStr(r['name']) || !isStr(r['epoch']) || !isInt(r['seq'])) return false;
    if (!Array.isArray(r['presence']) || !r['presence'].every((p) => Array.isArray(p) && isStr(p[0]) && p[1] !== null && typeof p[1] === 'object')) return false;
    if (!Array.isArray(r['history']) || !r['history'].every((h) => Array.isArray(h) && isInt(h[0]) && h[1] instanceof Uint8Array)) return false;
  }
  for (const d of s.dedup as unknown[]) {
    if (!Array.isArray(d) || !isInt(d[0]) || !Array.isArray(d[1])) return false;
    for (const c of d[1] as unknown[]) {
      if (!Array.isArray(c) || !isStr(c[0]) || !isInt(c[1]) || !Array.isArray(c[2])) return false;
      if (!c[2].every((p) => Array.isArray(p) && isInt(p[0]) && isStr(p[1]) && isInt(p[2]) && (p[3] === undefined || isStr(p[3])))) return false;
    }
  }
  return true;
}
