/**
 * A topic message in each protocol version a subscriber may speak. The v1 form
 * is what the history keeps; the v2 form (client/protocol/delivery.ts) is
 * written from the same parts on first use and cached on the entry, so a
 * fan-out to any number of v2 subscribers encodes it once.
 */
import { decodeFrame, encode, encodeMessageV2, frameFromEncoded, type MessageParts, type TopicMessage } from '../../client/protocol/index.js';
import type { HistoryEntry } from './history.js';

/** The entry's parts; an entry loaded from a snapshot has only its v1 bytes, decoded here once. */
export function partsOf(entry: HistoryEntry): MessageParts {
  if (entry.parts !== undefined) return entry.parts;
  const decoded = decodeFrame(frameFromEncoded([entry.encoded], entry.encoded.byteLength));
  if (!decoded.ok) throw new Error(`history entry ${entry.seq} does not decode: ${decoded.reason}`);
  const m = decoded.messages[0] as TopicMessage;
  entry.parts = { topic: m.topic, seq: m.seq, kind: m.kind, ts: m.ts, data: encode(m.data), client: m.client, epoch: m.epoch };
  return entry.parts;
}

/** The v2 form for subscription id `sid`, or for a wildcard match when `sid` is undefined. */
export function v2Of(entry: HistoryEntry, sid: number | undefined): Uint8Array {
  if (sid === undefined) return (entry.v2topic ??= encodeMessageV2(partsOf(entry).topic, partsOf(entry)));
  if (entry.v2 !== undefined && entry.v2sid === sid) return entry.v2;
  entry.v2sid = sid;
  return (entry.v2 = encodeMessageV2(sid, partsOf(entry)));
}
