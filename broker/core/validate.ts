/**
 * Shape checks for peer messages from the network: a malformed or hostile
 * message is counted and dropped by the member, never thrown. Checks what the
 * state machine relies on (kinds, numbers, member ids, arrays), not payloads.
 */
import type { PeerMessage } from './messages.js';

const kinds = new Set(['data', 'order-request', 'hb', 'join', 'leave', 'excluded', 'flush-start', 'flush-state', 'flush-final', 'flush-done', 'install', 'leave-done']);

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 256;
}

function isCountMap(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.values(v).every(isCount);
}

function isView(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const r = v as { id?: unknown; members?: unknown };
  return isCount(r.id) && Array.isArray(r.members) && r.members.length > 0 && r.members.every(isId);
}

export function isDataMessage(v: unknown): boolean {
  const m = v as Record<string, unknown>;
  return (
    m !== null &&
    typeof m === 'object' &&
    m['kind'] === 'data' &&
    isCount(m['view']) &&
    isId(m['sender']) &&
    isCount(m['seq']) &&
    (m['seq'] as number) > 0 &&
    typeof m['order'] === 'string' &&
    ['fifo', 'causal', 'total'].includes(m['order'] as string) &&
    typeof m['safe'] === 'boolean' &&
    isId(m['origin']) &&
    isId(m['key']) &&
    isCount(m['originSeq']) &&
    // An abcast's stream and positions: a take-over's position is where its new sequencer counts on from.
    (m['stream'] == null || isCount(m['stream'])) &&
    (m['streamPos'] == null || isCount(m['streamPos'])) &&
    (m['streamSeq'] == null || isCount(m['streamSeq'])) &&
    (m['vt'] === undefined || isCountMap(m['vt'])) &&
    (m['audience'] === undefined || (Array.isArray(m['audience']) && m['audience'].length <= 4096 && m['audience'].every(isCount))) &&
    (m['stub'] === undefined || m['stub'] === true) &&
    (m['size'] === undefined || (m['stub'] === true && isCount(m['size']))) &&
    (m['audienceChange'] === undefined || m['audienceChange'] === 'add' || m['audienceChange'] === 'remove') &&
    (m['takeOver'] === undefined || (m['takeOver'] === true && m['order'] === 'total' && m['safe'] === true))
  );
}

function isOrderRequest(m: Record<string, unknown>): boolean {
  return (
    (m['order'] === 'total' || m['order'] === 'group') &&
    isCount(m['stream']) &&
    isId(m['key']) &&
    isId(m['origin']) &&
    isCount(m['originSeq']) &&
    isCount(m['streamSeq']) &&
    typeof m['safe'] === 'boolean' &&
    (m['elide'] === undefined || m['elide'] === true) &&
    (m['audience'] === undefined || m['audience'] === 'add' || m['audience'] === 'remove') &&
    (m['takeOver'] === undefined || (m['takeOver'] === true && m['order'] === 'total' && m['safe'] === true))
  );
}

export function isPeerMessage(v: unknown): v is PeerMessage {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const m = v as Record<string, unknown>;
  if (!kinds.has(m['kind'] as string) || !isCount(m['view'])) return false;
  switch (m['kind']) {
    case 'data':
      return isDataMessage(m);
    case 'order-request':
      return isOrderRequest(m);
    case 'hb':
      return Array.isArray(m['acks']) && m['acks'].length <= 4096 && m['acks'].every(isCount) && (m['stable'] === undefined || isCount(m['stable'])) && (m['suspects'] === undefined || (Array.isArray(m['suspects']) && m['suspects'].length <= 4096 && m['suspects'].every(isId))) && (m['reply'] === undefined || m['reply'] === true);
    case 'join':
      return isId(m['joiner']) && (m['seen'] === undefined || isCount(m['seen']));
    case 'flush-start':
      return isCount(m['attempt']) && Array.isArray(m['participants']) && m['participants'].every(isId);
    case 'flush-state':
      return (
        isCount(m['attempt']) &&
        isCountMap(m['received']) &&
        isCountMap(m['delivered']) &&
        isCount(m['maxViewSeen']) &&
        Array.isArray(m['held']) &&
        m['held'].every(isDataMessage) &&
        Array.isArray(m['groupRequests']) &&
        m['groupRequests'].every((r) => r !== null && typeof r === 'object' && isOrderRequest(r as Record<string, unknown>)) &&
        (m['prepared'] === undefined || isFinalBody(m['prepared'])) &&
        (m['preparedBy'] === undefined || isId(m['preparedBy']))
      );
    case 'flush-final':
      return isFinal(m);
    case 'flush-done':
      return isCount(m['attempt']);
    case 'install':
      return (
        isView(m['next']) &&
        (m['groupKeys'] === undefined || (Array.isArray(m['groupKeys']) && m['groupKeys'].every(isId))) &&
        (m['lanes'] === undefined || (Array.isArray(m['lanes']) && m['lanes'].every((l) => Array.isArray(l) && isId(l[0]) && isCount(l[1])))) &&
        (m['audiences'] === undefined || (Array.isArray(m['audiences']) && m['audiences'].every((a) => Array.isArray(a) && isCount(a[0]) && Array.isArray(a[1]) && a[1].every(isId)))) &&
        (m['final'] === undefined || isFinal(m['final']))
      );
    default:
      return true;
  }
}

function isFinal(v: unknown): boolean {
  return isFinalBody(v) && Array.isArray((v as Record<string, unknown>)['union']) && ((v as Record<string, unknown>)['union'] as unknown[]).every(isDataMessage);
}

function isFinalBody(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  return (
    isCount(m['attempt']) &&
    isCountMap(m['targets']) &&
    (m['stubbed'] === undefined || (Array.isArray(m['stubbed']) && m['stubbed'].every(isId))) &&
    Array.isArray(m['group']) &&
    m['group'].every((r) => r !== null && typeof r === 'object' && isOrderRequest(r as Record<string, unknown>)) &&
    isView(m['next'])
  );
}
