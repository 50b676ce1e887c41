/**
 * The wire messages, one discriminated union per direction, keyed by `type`.
 * (The field is `type`, not `kind`, because `kind` is the client-facing kind
 * of a published message: `event`, `state` or `patch`.)
 *
 * Every client request carries a numeric `id`, unique among that
 * connection's requests in flight; the broker answers each with exactly one
 * `reply` or `error` carrying the same `id`.
 */

/** The newest protocol version; the client library speaks it. */
export const protocolVersion = 2;
/** Every version a broker accepts in `hello` (docs/protocol.md §2: what changed in 2). */
export const protocolVersions: readonly number[] = [1, 2];

/** What a publish does to the topic: kept as an event, replaces the state, or merge-patches it. */
export const MessageKind = { Event: 'event', State: 'state', Patch: 'patch' } as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];
export const messageKinds: readonly MessageKind[] = Object.values(MessageKind);

/** Presence options of a subscription: receive the set and its changes, and (unless hidden) be in it. */
export interface PresenceOptions {
  /** Any msgpack value shown to the other members (a player name, a colour …). */
  info?: unknown;
  /** Watch the presence set without appearing in it. Default false. */
  hidden?: boolean;
}

// ---- client → broker -------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  /** Protocol version the client speaks. */
  v: number;
  /** The client instance id: stable across reconnects; scopes publish ids for de-duplication. */
  client?: string;
  /** Bearer token, when the broker requires authentication. */
  token?: string;
}

export interface SubscribeMessage {
  type: 'sub';
  id: number;
  /** Topic name, or a pattern with `*` / `>` (then `state`, `since` and `presence` are refused). */
  topic: string;
  /** Return the topic state in the reply. */
  state?: boolean;
  /** Resume: replay everything after this topic seq, then go live. */
  since?: number;
  /** The topic epoch the `since` refers to (from an earlier reply); a different epoch cannot resume. */
  epoch?: string;
  presence?: PresenceOptions;
}

export interface UnsubscribeMessage {
  type: 'unsub';
  id: number;
  topic: string;
}

export interface PublishMessage {
  type: 'pub';
  /** v2: absent for a publish that wants no acknowledgement (fire-and-forget: only a failure is reported). */
  id?: number | undefined;
  topic: string;
  kind: MessageKind;
  data: unknown;
  /** Publish id, increasing per client instance; a retried publish with the same id is applied once. */
  pid?: number;
}

export interface PongMessage {
  type: 'pong';
}

/** A new token for this connection (after `expired`, or before): same `sub`; its permissions must still cover every subscription held. */
export interface RefreshMessage {
  type: 'refresh';
  id: number;
  token: string;
}

export type ClientMessage = HelloMessage | SubscribeMessage | UnsubscribeMessage | PublishMessage | RefreshMessage | PongMessage;
export type ClientRequest = SubscribeMessage | UnsubscribeMessage | PublishMessage | RefreshMessage;

// ---- broker → client -------------------------------------------------------

export interface Limits {
  /** Largest inbound WebSocket frame the broker accepts, in bytes. */
  frameBytesMax: number;
  /**
   * Most messages in one inbound frame (absent from older brokers: no bound). A frame with more is
   * not decoded: the broker closes with 4501 BadFrame.
   */
  frameMessagesMax?: number;
  /** Largest `data` of one publish, in msgpack bytes. */
  payloadBytesMax: number;
  /** Largest topic state, in msgpack bytes. */
  stateBytesMax: number;
  /** Subscriptions one connection may hold. */
  subscriptionsMax: number;
  /** Longest topic name, bytes. */
  topicBytesMax: number;
  /** Largest presence `info`, msgpack bytes. */
  presenceInfoBytesMax: number;
}

export interface WelcomeMessage {
  type: 'welcome';
  v: number;
  /** This connection's id (also its presence key). */
  session: string;
  /** The client instance id in force (the one sent in hello, or one the broker chose). */
  client: string;
  /** The broker's member id. */
  broker: string;
  limits: Limits;
  /** The broker pings this often when the connection is idle; two silent intervals mean the link is dead. */
  pingIntervalMs: number;
}

/** A presence entry, keyed by session id in a presence set. */
export interface PresenceEntry {
  client: string;
  info?: unknown;
}

export interface SubscribeReply {
  type: 'reply';
  id: number;
  topic: string;
  /**
   * Topic seq the subscription starts after: the state (if any) is at this
   * seq, and the next message delivered is seq + 1. On a recovered resume it
   * is the `since` asked for (the replay follows); otherwise the topic's
   * current seq. The presence set, when present, is always the current one.
   */
  seq: number;
  epoch: string;
  /** The topic state at `seq`: present when asked for, or when a resume could not recover. */
  state?: unknown;
  /** Present when presence was asked for: session id → entry, at `seq`. */
  presence?: Record<string, PresenceEntry>;
  /** v2, exact topics: the subscription id its deliveries carry instead of the topic name. */
  sid?: number;
  /**
   * Present on a resume (`since` given): true when every message after `since`
   * follows this reply; false when history no longer reaches back, in which
   * case `state` holds a fresh snapshot and delivery continues after `seq`.
   */
  recovered?: boolean;
}

export interface PublishReply {
  type: 'reply';
  id: number;
  seq: number;
  /** True when this publish id had already been applied; `seq` is the original one. */
  dup?: boolean;
}

export interface EmptyReply {
  type: 'reply';
  id: number;
}

export type ReplyMessage = SubscribeReply | PublishReply | EmptyReply;

/**
 * v2: publishes acknowledged, in the order they were sent — the next `seqs.length` publishes with
 * an `id` not answered by an `error`, with the seq each got. One per frame, however many it covers.
 */
export interface AcksMessage {
  type: 'acks';
  seqs: number[];
}

export interface ErrorMessage {
  type: 'error';
  /** The request this answers; absent for an error about the connection as a whole, or about a publish sent without an id. */
  id?: number;
  code: number;
  message: string;
  /** v2: the topic of a publish sent without an id that failed. */
  topic?: string;
}

/** v2: a delivered topic message, positional (client/protocol/delivery.ts): `[ref, seq, kind, ts, data, client?, epoch?, prev?]`. */
export type CompactMessage = [ref: number | string, seq: number, kind: number, ts: number, data: unknown, client?: string | null, epoch?: string | null, prev?: number];

/** A delivered topic message. */
export interface TopicMessage {
  type: 'msg';
  topic: string;
  seq: number;
  kind: MessageKind;
  data: unknown;
  /** Broker time when the message was ordered, ms since the epoch. */
  ts: number;
  /** The publisher's client id (absent for messages published over HTTP). */
  client?: string;
  /** On a topic's first message (seq 1) only: the topic's epoch. */
  epoch?: string;
  /**
   * Protocol 2, conflated topics only: the seq this subscriber got before this message, when the
   * seqs in between were skipped on purpose (superseded by newer values from the same publishers).
   */
  prev?: number;
}

/** A presence change, ordered among the topic's messages: it happened after message `seq`. */
export interface PresenceMessage {
  type: 'join' | 'leave';
  topic: string;
  seq: number;
  session: string;
  client: string;
  info?: unknown;
}

export interface PingMessage {
  type: 'ping';
}

/** The connection's token has expired: send `refresh` within `graceMs`, or the broker closes it (TokenExpired). */
export interface ExpiredMessage {
  type: 'expired';
  graceMs: number;
}

export type ServerMessage = WelcomeMessage | ReplyMessage | AcksMessage | ErrorMessage | TopicMessage | PresenceMessage | PingMessage | ExpiredMessage;
