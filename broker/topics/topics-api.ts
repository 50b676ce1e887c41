/**
 * What the topic service takes and answers (topics.ts): its options, the requests of subscribe
 * and publish, their outcomes, and the interest a mesh registers in topics.
 */
import type { ErrorCode, DataBytes, MessageKind, PresenceOptions, SubscribeReply } from '../../client/protocol/index.js';
import type { TopicLimits } from './config.js';
import type { CommandStream } from './stream.js';
import type { PinListener } from './subscriber-index.js';
import type { Topic } from './topic.js';
import type { TopicTable } from './topic-table.js';
import type { HistoryEntry } from './history.js';

export interface TopicsOptions {
  limits: TopicLimits;
  /** Largest `data` of one publish, msgpack bytes. */
  payloadBytesMax: number;
  /** Largest presence `info`, msgpack bytes: every joiner receives every member's info. */
  presenceInfoBytesMax: number;
  /** Longest topic name, bytes (≤ 255). */
  topicBytesMax: number;
  /** Subscriptions one subscriber may hold. */
  subscriptionsMax: number;
  /** Builds the ordered stream over the table; default: this broker sequences (LocalStream). */
  stream?: (table: TopicTable) => CommandStream;
  /** A created topic's epoch, from the command that creates it and its stream id (TopicTableOptions). */
  newEpoch: (command: import('./commands.js').TopicCommand | undefined, id: string | undefined) => string;
  /**
   * Whether an exact subscribe creates the topic (so its reply carries an
   * epoch). True on one broker; false in the mesh, where topics are created
   * only by ordered commands, identically at every replica — and where no
   * topic is dropped to stay under `topicsMax`, since which topics have
   * local subscribers differs from broker to broker and replicas must not
   * diverge. Default true.
   */
  createOnSubscribe?: boolean;
  /** The ordering stream of a topic (publish ids are de-duplicated per stream). */
  streamOf?: (topic: string) => number;
  /** In the mesh: which topics this broker keeps, and how it comes to keep one (lightweight groups). */
  interest?: TopicInterest;
  /**
   * Why this broker cannot vouch for its copies now (in the mesh: it is outside a primary view,
   * or rejoining), or undefined when it can. Subscribes, resumes and reads are then refused with
   * it (NotReady: the client tries again, perhaps at another broker), never answered from a copy
   * that may be frozen behind the topic. Default: always serving.
   */
  unavailable?: () => Failure | undefined;
  /**
   * How long a resume whose `since` is ahead of this broker's copy waits for the copy to reach it,
   * ms (the mesh: another broker delivered those seqs first). Past it the resume is refused with
   * NotReady, never answered at an older seq. 0 (the default, one broker: a copy is never behind
   * a seq it gave out): answered at once, `recovered: false`.
   */
  resumeWaitMs?: number;
  /** The clock (ms): timestamps of commands, deadlines of waiting resumes. The layer reads no clock of its own. */
  now: () => number;
  /** Runs `fn` after the command being applied (the host's microtask queue): a waiting resume runs again there. */
  defer: (fn: () => void) => void;
}

/**
 * A broker of the mesh keeps only some topics (broker/mesh/replicas.ts): a
 * subscribe to one it does not keep waits until it does. `undefined` stands
 * for every topic (a wildcard subscription).
 */
export interface TopicInterest extends PinListener {
  keeps(topic: string | undefined): boolean;
  /** Calls `ready` once the topic is kept here, or with the reason it cannot be. */
  await(topic: string | undefined, ready: (failure?: Failure) => void): void;
}

export interface SubscribeRequest {
  topic: string;
  state?: boolean;
  since?: number;
  epoch?: string;
  presence?: PresenceOptions;
}

export type SubscribeOutcome =
  | { ok: true; reply: Omit<SubscribeReply, 'type' | 'id'>; replay: HistoryEntry[] }
  | { ok: false; code: ErrorCode; message: string };

export interface PublishRequest {
  topic: string;
  kind: MessageKind;
  data: unknown;
  /** The payload's bytes as the publisher encoded them, when the edge has them (delivered as they are). */
  encoded?: DataBytes | undefined;
  client?: string;
  pid?: number;
  /** Idempotency key (HTTP publishes): a retry with the same key is applied once. */
  key?: string;
  /** With `key`: the digest of the request's body; the same key with another body is refused. */
  digest?: string;
}

export type Failure = { ok: false; code: ErrorCode; message: string };
