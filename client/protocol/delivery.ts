/**
 * A delivered topic message on the wire, in both protocol versions, written
 * around the payload's bytes as they were encoded once, when it was published.
 *
 * v1: a map `{type: "msg", topic, seq, kind, data, ts, client?, epoch?}`, its numbers written
 * as protocol 1 always had them (an integer beyond 32 bits, such as `ts`, as float64).
 * v2: an array `[ref, seq, kind, ts, data, client?, epoch?, prev?]` — `ref` is the
 * subscription id the subscribe reply gave (`sid`), or the topic name when
 * the message reached the connection through a wildcard only; `kind` is 0
 * (event), 1 (state) or 2 (patch); `client` and `epoch` are nil when absent but a later field
 * follows; absent trailing fields are left out; `prev` only on conflated topics, after a skip. Every subscriber of a topic
 * on one broker gets the same `sid`, so a fan-out encodes a message once.
 */
import type { MessageKind } from './messages.js';
import { Writer, numberV1Size, stringSize } from './writer.js';

/** What a topic message is made of; `data` is its payload, already msgpack-encoded. */
export interface MessageParts {
  topic: string;
  seq: number;
  kind: MessageKind;
  ts: number;
  data: Uint8Array;
  client?: string | undefined;
  epoch?: string | undefined;
}

export const kindCodes: Readonly<Record<MessageKind, number>> = { event: 0, state: 1, patch: 2 };
export const kindOfCode: readonly MessageKind[] = ['event', 'state', 'patch'];

/** Every message is written behind a 0x91 byte, so that a frame of that message alone needs no copy (codec.ts). */
const writer = new Writer();

/** The constant parts of a v1 message, encoded once. */
const fixed = (text: string): Uint8Array => new Writer(64).string(text).finish();
const typeMsgTopic = concat([fixed('type'), fixed('msg'), fixed('topic')]);
const keySeq = fixed('seq');
const keyKind = fixed('kind');
const kindValues = { event: fixed('event'), state: fixed('state'), patch: fixed('patch') } as const;
const keyTs = fixed('ts');
const keyClient = fixed('client');
const keyEpoch = fixed('epoch');
const keyData = fixed('data');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.byteLength));
  return out;
}

/** The v1 map, and where in it the payload's bytes lie (so they can be reused as a view). */
export function encodeMessageV1(m: MessageParts): { encoded: Uint8Array; dataOffset: number } {
  const w = writer.lead(0x91);
  w.mapHeader(6 + (m.client === undefined ? 0 : 1) + (m.epoch === undefined ? 0 : 1));
  w.raw(typeMsgTopic).string(m.topic);
  w.raw(keySeq).numberV1(m.seq);
  w.raw(keyKind).raw(kindValues[m.kind]);
  w.raw(keyTs).numberV1(m.ts);
  if (m.client !== undefined) w.raw(keyClient).string(m.client);
  if (m.epoch !== undefined) w.raw(keyEpoch).string(m.epoch);
  w.raw(keyData);
  const dataOffset = w.length;
  w.raw(m.data);
  return { encoded: w.finish(), dataOffset };
}

/**
 * How many bytes `encodeMessageV1(m).encoded` has, without writing it: a topic's history counts its
 * messages by their v1 size whether or not that form was written (broker/topics/history.ts).
 */
export function messageV1Bytes(m: MessageParts): number {
  let n = 1 + typeMsgTopic.byteLength + stringSize(m.topic);
  n += keySeq.byteLength + numberV1Size(m.seq) + keyKind.byteLength + kindValues[m.kind].byteLength + keyTs.byteLength + numberV1Size(m.ts);
  if (m.client !== undefined) n += keyClient.byteLength + stringSize(m.client);
  if (m.epoch !== undefined) n += keyEpoch.byteLength + stringSize(m.epoch);
  return n + keyData.byteLength + m.data.byteLength;
}

/**
 * The v2 array for a subscription id (a number) or a topic name (a wildcard match). `prev`, on a
 * conflated topic only: the seq this subscriber got before this message, when seqs in between were
 * skipped (superseded by newer values from the same publishers).
 */
export function encodeMessageV2(ref: number | string, m: MessageParts, prev?: number): Uint8Array {
  const w = writer.lead(0x91);
  const fields = prev !== undefined ? 8 : m.epoch !== undefined ? 7 : m.client !== undefined ? 6 : 5;
  w.arrayHeader(fields);
  if (typeof ref === 'number') w.number(ref);
  else w.string(ref);
  w.number(m.seq).number(kindCodes[m.kind]).number(m.ts).raw(m.data);
  if (fields >= 6) {
    if (m.client === undefined) w.nil();
    else w.string(m.client);
  }
  if (fields >= 7) {
    if (m.epoch === undefined) w.nil();
    else w.string(m.epoch);
  }
  if (prev !== undefined) w.number(prev);
  return w.finish();
}

/** A v2 publish acknowledgement: the seqs of the next acknowledged publishes, in the order they were sent. */
export function encodeAcks(seqs: readonly number[]): Uint8Array {
  const w = writer.lead(0x91);
  w.mapHeader(2).string('type').string('acks').string('seqs').arrayHeader(seqs.length);
  for (const seq of seqs) w.number(seq);
  return w.finish();
}

/** A v1 publish reply. */
export function encodePublishReply(id: number, seq: number, dup: boolean): Uint8Array {
  const w = writer.lead(0x91);
  w.mapHeader(dup ? 4 : 3).string('type').string('reply').string('id').numberV1(id).string('seq').numberV1(seq);
  if (dup) w.string('dup').bool(true);
  return w.finish();
}

/** A `pub` around a payload already encoded (its check encoded it); `id` absent: no answer wanted (v2). */
export function encodePublish(id: number | undefined, topic: string, kind: MessageKind, pid: number | undefined, data: Uint8Array): Uint8Array {
  const w = writer.lead(0x91);
  w.mapHeader(3 + (id === undefined ? 0 : 1) + (kind === 'event' ? 0 : 1) + (pid === undefined ? 0 : 1));
  w.string('type').string('pub');
  if (id !== undefined) w.string('id').number(id);
  w.string('topic').string(topic);
  if (kind !== 'event') w.string('kind').string(kind);
  if (pid !== undefined) w.string('pid').number(pid);
  w.string('data').raw(data);
  return w.finish();
}
