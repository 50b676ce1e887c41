/**
 * A topic message in each protocol version a subscriber may speak. The v1 form
 * is what the history keeps; the v2 form (client/protocol/delivery.ts) is
 * written from the same parts when asked for, and the last one is kept, so a
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

/**
 * The v2 form for subscription id `sid`, or for a wildcard match when `sid` is undefined. A fan-out
 * asks for the same entry once per subscriber, one after another: the last form is kept here (not
 * on the entry, where a topic's history would hold a second copy of every message).
 */
export function v2Of(entry: HistoryEntry, sid: number | undefined): Uint8Array {
  if (entry === last.entry && sid === last.sid) return last.bytes!;
  let parts: MessageParts;
  try {
    parts = partsOf(entry);
  } catch {
    return entry.encoded; // undecodable (cannot happen for what this broker wrote): the v1 map, which a v2 client also reads
  }
  last.entry = entry;
  last.sid = sid;
  last.bytes = encodeMessageV2(sid ?? parts.topic, parts);
  return last.bytes;
}

const last: { entry: HistoryEntry | undefined; sid: number | undefined; bytes: Uint8Array | undefined } = { entry: undefined, sid: undefined, bytes: undefined };
