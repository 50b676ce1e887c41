/**
 * A subscription as the application holds it: the topic's state and presence
 * kept up to date, the last seq delivered, and the handler. It checks seqs as
 * they arrive so the application sees each message exactly once, in order,
 * across reconnects: a seq at or below `seq` is a duplicate and is dropped.
 */
import { Emitter } from './emitter.js';
import {
  applyMergePatch,
  type PresenceEntry,
  type PresenceMessage,
  type SubscribeMessage,
  type SubscribeReply,
  type TopicMessage,
} from './protocol/index.js';

/**
 * A message as the application receives it: the wire `msg` without its `type`. On a conflated
 * topic, `skipped` counts the messages before it this subscriber did not get because newer values
 * from their publishers replaced them while it was behind.
 */
export type Message = Omit<TopicMessage, 'type' | 'prev'> & { skipped?: number };

export interface PresenceEvent {
  type: 'join' | 'leave';
  session: string;
  client: string;
  info?: unknown;
  /** The topic seq the change follows. */
  seq: number;
}

export interface ResyncEvent {
  /** False: history no longer reached back; `state` is a fresh snapshot and messages in between were skipped. */
  recovered: boolean;
  seq: number;
}

export interface EndedEvent {
  /** Why the broker refused the subscription for good (its `code` tells which refusal). */
  error: Error & { code?: number };
}

export type SubscriptionEvents = {
  presence: PresenceEvent;
  /** A resume finished (after a reconnect or an explicit `since`). */
  resync: ResyncEvent;
  /**
   * The broker refused a resume with an error that retrying will not cure (Forbidden after a new
   * token, TooManySubscriptions …): the subscription ended and receives nothing more. Retryable
   * refusals (NotReady, RateLimited …) never end a subscription: the client tries again.
   */
  ended: EndedEvent;
};

export type MessageHandler = (message: Message) => void;

/** Topics whose last seq a pattern subscription remembers to drop repeats. */
const patternTopicsTrackedMax = 10_000;

export interface SubscribeOptions {
  /** Load the topic state with the subscription, and keep `sub.state` current. */
  state?: boolean;
  /** Start after this topic seq: replay from history, or say it could not (`resync` event, `recovered` false). */
  since?: number;
  /** The epoch `since` refers to, from an earlier subscription's `sub.epoch`. */
  epoch?: string;
  /** Receive the presence set and its changes; appear in it with `info` unless `hidden`. */
  presence?: { info?: unknown; hidden?: boolean };
  /** Called on every join/leave (also emitted as the `presence` event; this one sees the very first). */
  onPresence?: (event: PresenceEvent) => void;
  /** Called when a resume finishes (also the `resync` event). */
  onResync?: (event: ResyncEvent) => void;
}

export class Subscription extends Emitter<SubscriptionEvents> {
  /** Last topic seq delivered (or the snapshot's seq). */
  seq = 0;
  /** @internal v2: this subscription's id at the current broker (its deliveries carry it). */
  sid: number | undefined;
  /** The topic's incarnation; a resume only continues within one epoch. */
  epoch = '';
  /** Current topic state, when asked for (else undefined). */
  state: unknown = undefined;
  /** Current presence set (session id → entry), when asked for. */
  presence: Record<string, PresenceEntry> | undefined;
  /**
   * The broker's last (re)subscribe answer: the topic seq it starts after and,
   * when it carried one, the state at that seq. Messages after it may already
   * have been handled by the time `subscribe()` resolves; `seq` and `state`
   * are the live values.
   */
  snapshot: { seq: number; epoch: string; state?: unknown } | undefined;
  /** Waiting for the broker's reply to a (re)subscribe: messages are held off until it comes. */
  pending = true;
  /** Whether it has ever been confirmed (later subscribes are resumes). */
  confirmed = false;
  active = true;
  /** @internal Retryable refusals in a row (the backoff of the next retry). */
  retries = 0;
  /** @internal The retry waiting for its backoff. */
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly lastSeqByTopic = new Map<string, number>();

  constructor(
    readonly topic: string,
    readonly wildcard: boolean,
    private readonly handler: MessageHandler,
    readonly options: SubscribeOptions,
    private readonly unsubscribeFn: (sub: Subscription) => Promise<void>,
    /** Where an exception thrown by the application's callbacks is reported (the client's `error` event). */
    private readonly onError: (err: unknown) => void = (err) => queueMicrotask(() => {
      throw err;
    }),
  ) {
    super();
    this.presence = options.presence !== undefined ? {} : undefined;
  }

  /** Ends the subscription; no message is delivered to it afterwards. */
  unsubscribe(): Promise<void> {
    return this.unsubscribeFn(this);
  }

  /**
   * @internal The request that (re)subscribes it: a resume from the last seq delivered once it was
   * confirmed (or from `since`), the state on a first subscribe that asked for it, presence as set.
   */
  request(id: number): SubscribeMessage {
    this.pending = true;
    const message: SubscribeMessage = { type: 'sub', id, topic: this.topic };
    const resume = this.confirmed || this.options.since !== undefined;
    if (!this.wildcard && resume) {
      message.since = this.seq;
      if (this.epoch !== '') message.epoch = this.epoch;
    }
    if (this.options.state === true && !resume) message.state = true;
    const presence = this.options.presence;
    if (presence !== undefined) message.presence = presence.hidden === true ? { info: presence.info, hidden: true } : { info: presence.info };
    return message;
  }

  /** @internal The broker's reply to a (re)subscribe. */
  confirm(reply: SubscribeReply): void {
    const resumed = reply.recovered !== undefined;
    this.pending = false;
    this.retries = 0;
    this.snapshot = reply.state === undefined ? { seq: reply.seq, epoch: reply.epoch } : { seq: reply.seq, epoch: reply.epoch, state: reply.state };
    this.seq = reply.seq;
    this.epoch = reply.epoch;
    if (reply.state !== undefined && (this.options.state === true || this.state !== undefined || reply.recovered === false)) this.state = reply.state;
    if (reply.presence !== undefined) this.presence = { ...reply.presence };
    this.confirmed = true;
    if (resumed) {
      const event = { recovered: reply.recovered === true, seq: reply.seq };
      this.call(this.options.onResync, event);
      this.emit('resync', event);
    }
  }

  /** @internal Refused for good while nobody awaited subscribe(): the application hears it here. */
  end(error: EndedEvent['error']): void {
    this.emit('ended', { error });
  }

  /** @internal A topic message. Returns false when it was a duplicate. */
  receive(message: TopicMessage): boolean {
    if (!this.active) return false;
    if (this.wildcard) {
      if (!this.seenByPattern(message.topic, message.seq)) return false;
    } else {
      if (this.pending || message.seq <= this.seq) return false;
      // A conflated topic skips superseded events on purpose, and says so with `prev`.
      const skipped = message.prev === this.seq;
      if (message.seq !== this.seq + 1 && !skipped) this.onError(new Error(`topic ${this.topic}: seq ${message.seq} follows ${this.seq}; messages in between are missing`));
      this.seq = message.seq;
      if (message.epoch !== undefined && this.epoch === '') this.epoch = message.epoch;
      if (this.state !== undefined || this.options.state === true) {
        if (message.kind === 'state') this.state = message.data;
        else if (message.kind === 'patch') this.state = applyMergePatch(this.state ?? null, message.data);
      }
    }
    const delivered: Message = { topic: message.topic, seq: message.seq, kind: message.kind, data: message.data, ts: message.ts };
    if (message.epoch !== undefined) delivered.epoch = message.epoch;
    if (message.client !== undefined) delivered.client = message.client;
    if (message.prev !== undefined) delivered.skipped = message.seq - message.prev - 1;
    this.call(this.handler, delivered);
    return true;
  }

  /**
   * Pattern subscriptions do not resume, but they must not see a message
   * twice: a replay for an exact subscription on the same connection passes
   * through them too. They remember the last seq per topic (bounded).
   */
  private seenByPattern(topic: string, seq: number): boolean {
    const last = this.lastSeqByTopic.get(topic);
    if (last !== undefined && seq <= last) return false;
    this.lastSeqByTopic.delete(topic);
    this.lastSeqByTopic.set(topic, seq);
    if (this.lastSeqByTopic.size > patternTopicsTrackedMax) this.lastSeqByTopic.delete(this.lastSeqByTopic.keys().next().value!);
    return true;
  }

  /** Runs an application callback; its exception is reported, never allowed to break delivery. */
  private call<T>(fn: ((value: T) => void) | undefined, value: T): void {
    if (fn === undefined) return;
    try {
      fn(value);
    } catch (err) {
      this.onError(err);
    }
  }

  /** @internal A presence change. */
  receivePresence(message: PresenceMessage): void {
    if (!this.active || this.pending || this.presence === undefined) return;
    if (message.type === 'join') {
      const entry: PresenceEntry = message.info === undefined ? { client: message.client } : { client: message.client, info: message.info };
      this.presence = { ...this.presence, [message.session]: entry };
    } else {
      const next = { ...this.presence };
      delete next[message.session];
      this.presence = next;
    }
    const event: PresenceEvent = { type: message.type, session: message.session, client: message.client, seq: message.seq };
    if (message.info !== undefined) event.info = message.info;
    this.call(this.options.onPresence, event);
    this.emit('presence', event);
  }
}
