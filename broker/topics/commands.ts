/**
 * The commands that change topics. They reach `TopicTable.apply` only through
 * an ordered stream (see stream.ts), in the same order at every replica, so
 * every replica computes the same seqs, states, histories and presence sets.
 */
import type { MessageKind, PresenceEntry } from '../../client/protocol/index.js';
import type { ErrorCode } from '../../client/protocol/index.js';

export interface PublishCommand {
  kind: 'publish';
  topic: string;
  msgKind: MessageKind;
  /**
   * The payload. In the mesh an event's travels only as `encoded` (no copy needs the value), so
   * it is absent there; a state or patch keeps it, for the copies' state.
   */
  data: unknown;
  /**
   * The payload as msgpack, as the edge checked and encoded it: the table writes these bytes into
   * the message as they are — at every copy, in the mesh — and encodes `data` only without them.
   */
  encoded?: Uint8Array | undefined;
  /** Publisher's client id; absent for HTTP publishes. */
  client?: string | undefined;
  /** Publish id for de-duplication, scoped by `client`. */
  pid?: number | undefined;
  /** HTTP: the caller's idempotency key (scoped by its subject); a retry with it is applied once. */
  key?: string | undefined;
  /** HTTP: the digest of the body sent with `key`; the same key with another digest is refused (IdempotencyKeyReused). */
  digest?: string | undefined;
  /** Ordering time, stamped by the sequencer (ms since the epoch). */
  ts: number;
}

export interface PresenceJoinCommand {
  kind: 'presence-join';
  topic: string;
  session: string;
  entry: PresenceEntry;
  ts: number;
}

export interface PresenceLeaveCommand {
  kind: 'presence-leave';
  topic: string;
  session: string;
  ts: number;
}

/** A unique id the ordering stream gives a command (a topic it creates takes its epoch from it). */
interface Identified {
  id?: string;
}

export type TopicCommand = (PublishCommand | PresenceJoinCommand | PresenceLeaveCommand) & Identified;

/** A command as the edge submits it: the sequencer stamps `ts`. */
export type UnstampedCommand = DistributiveOmit<PublishCommand | PresenceJoinCommand | PresenceLeaveCommand, 'ts'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export type ApplyResult =
  | { ok: true; seq: number; dup?: boolean }
  | { ok: false; code: ErrorCode; message: string };
