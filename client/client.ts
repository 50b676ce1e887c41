/**
 * The Chorus client: the subscriptions and unanswered publishes an application
 * holds, carried across a sequence of WebSocket links (connection.ts opens them
 * and decides when to open the next). On every new link it resumes each
 * subscription from its last seq and resends each unanswered publish with its
 * publish id — so across reconnects the application sees every message exactly
 * once, in order, and every publish is applied once.
 *
 * Scenario worth naming (1): a pattern subscription `room.*` and an exact
 * `room.1` are resumed on a new link. The pattern's reply can come first, and
 * `room.1` messages then arrive while `room.1`'s resume is pending. They are
 * ignored there: they precede the resume point, so the replay that follows
 * `room.1`'s reply carries them, in order.
 */
import { backoffDelayMs } from './after-close.js';
import { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { ConnectionClosedError, RequestError } from './errors.js';
import type { Link } from './link.js';
import { publishRefusal, subscribeRefusal } from './call-checks.js';
import { CloseCode, ErrorCode, encodePublish } from './protocol/index.js';
import type { CompactMessage, Limits, MessageKind, PublishReply, ReplyMessage, ServerMessage, SubscribeReply, WelcomeMessage } from './protocol/index.js';
import { PublishQueue, publishQueueCeiling, randomId, type PendingPublish, type PublishResult } from './publisher.js';
import type { MessageHandler, SubscribeOptions, Subscription } from './subscription.js';
import { SubscriptionRegistry, afterRefusal } from './subscriptions.js';
import { Requests } from './requests.js';
import type { WebSocketConstructor } from './websocket.js';
import { refreshToken, type ClientEvents, type ConnectOptions } from './options.js';

export type { ClientEvents, ConnectOptions } from './options.js';

export class Client extends Emitter<ClientEvents> {
  private readonly requests = new Requests();
  private readonly subs = new SubscriptionRegistry();
  private readonly publishes: PublishQueue;
  private readonly connection: Connection;
  /** This client instance's id, sent in every hello. */
  readonly clientId: string;

  constructor(
    private readonly urls: readonly string[],
    private readonly options: ConnectOptions,
    private readonly webSocket: WebSocketConstructor | Promise<WebSocketConstructor>,
  ) {
    super();
    this.clientId = options.clientId ?? randomId();
    this.connection = new Connection(urls, options, this.clientId, (event, value) => this.emit(event, value), {
      requests: this.requests,
      subscriptions: () => this.subs.all(),
      welcomed: (link, welcome, pipelined) => this.onWelcome(link, welcome, pipelined),
      message: (link, message) => this.onMessage(link, message),
      down: () => {
        for (const request of this.requests.clear()) if (request.kind === 'unsub') request.done();
        this.subs.markAllPending();
      },
      failed: (error) => {
        this.publishes.endPause();
        this.publishes.rejectAll(error);
        this.subs.rejectAll(error);
      },
    });
    const queueMax = options.publishQueueMax ?? publishQueueCeiling;
    if (!Number.isSafeInteger(queueMax) || queueMax < 1 || queueMax > publishQueueCeiling) {
      throw new TypeError(`publishQueueMax must be 1–${publishQueueCeiling}: the broker remembers that many publish ids per client for de-duplication`);
    }
    const bytesMax = options.publishBytesMax ?? 8 * 1024 * 1024;
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) throw new TypeError('publishBytesMax must be a positive whole number of bytes');
    this.publishes = new PublishQueue(queueMax, bytesMax);
  }

  private get link(): Link | undefined {
    return this.connection.link;
  }

  private get welcome(): WelcomeMessage | undefined {
    return this.connection.welcome;
  }

  /** Closed for good (by close(), or given up)? */
  private get closedByApp(): boolean {
    return this.connection.closed;
  }

  /** The limits of the last broker that welcomed us (kept while disconnected). */
  private get limitsSeen(): Limits | undefined {
    return this.connection.limitsSeen;
  }

  /** Connected now (hello answered)? */
  get connected(): boolean {
    return this.welcome !== undefined;
  }

  /**
   * This client's id as others see it — in presence and in `message.client` — while connected:
   * the `clientId` it sent, or with authentication `subject|clientId`.
   */
  get publicId(): string | undefined {
    return this.welcome?.client;
  }

  /** The current session id, while connected. */
  get session(): string | undefined {
    return this.welcome?.session;
  }

  /** The broker's limits, while connected. */
  get limits(): Limits | undefined {
    return this.welcome?.limits;
  }

  /** Settles on the first welcome; rejects when one round over every URL failed, or on close() before. */
  ready: Promise<void> = Promise.resolve();

  /** @internal Starts connecting (once); `ready` tells how the first connection went. */
  start(): Promise<void> {
    this.ready = this.connection.start(this.webSocket);
    return this.ready;
  }

  subscribe(topic: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closedByApp) return Promise.reject(new ConnectionClosedError('client is closed'));
    const check = subscribeRefusal(topic, options, this.limitsSeen);
    if ('refused' in check) return Promise.reject(check.refused);
    let added: { sub: Subscription; confirmed: Promise<Subscription> };
    try {
      added = this.subs.add(topic, check.wildcard, handler, options, (s) => this.unsubscribe(s), (err) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.link !== undefined && this.welcome !== undefined) this.sendSubscribe(added.sub);
    return added.confirmed;
  }

  /**
   * Publishes `data` to `topic`. Acknowledged by default: the promise gives the message's seq, and
   * the publish is sent again after a reconnect and applied once. With `ack: false` (as a NATS core
   * publish — positions at game rate, say) nothing is waited for: the promise settles once it is
   * handed to the connection (or queued while there is none, up to 1,024), it is at most once, and
   * a refusal by the broker comes as an `error` event naming the topic.
   */
  publish(topic: string, data: unknown, options?: { kind?: MessageKind; ack?: true }): Promise<PublishResult>;
  publish(topic: string, data: unknown, options: { kind?: MessageKind; ack: false }): Promise<void>;
  publish(topic: string, data: unknown, options: { kind?: MessageKind; ack?: boolean } = {}): Promise<PublishResult | void> {
    if (this.closedByApp) return Promise.reject(new ConnectionClosedError('client is closed'));
    const kind = options.kind ?? 'event';
    // Checked here, against the last broker's limits, so a bad value fails this
    // one call instead of reaching the broker (which would close the link).
    const encoded = publishRefusal(topic, data, kind, this.limitsSeen);
    if (!(encoded instanceof Uint8Array)) return Promise.reject(encoded);
    if (options.ack === false) return this.publishes.fire(encodePublish(undefined, topic, kind, undefined, encoded), this.link, this.welcome?.v);
    let entry: PendingPublish;
    try {
      entry = this.publishes.add(topic, kind, encoded);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.publishes.pausing(topic)) this.publishes.hold(entry.pid);
    else if (this.welcome !== undefined) this.sendPublish(entry);
    return entry.promise;
  }

  /** Resolves once every publish issued before it has been answered. */
  flush(): Promise<void> {
    if (this.closedByApp) return Promise.reject(new ConnectionClosedError('client is closed'));
    return this.publishes.drained();
  }

  /** Closes for good: pending publishes are rejected, no reconnect. */
  async close(): Promise<void> {
    if (this.closedByApp) return;
    this.connection.stop();
    this.publishes.endPause();
    const error = new ConnectionClosedError('client closed');
    this.publishes.rejectAll(error);
    this.subs.rejectAll(error);
    for (const request of this.requests.clear()) if (request.kind === 'unsub') request.done();
    this.connection.close(error);
    this.emit('closed', { code: CloseCode.Normal, reason: 'client closed' });
  }

  /** A link was welcomed: subscriptions resume first (those not sent behind the hello), then publishes are sent again, all in one frame. */
  private onWelcome(link: Link, welcome: WelcomeMessage, pipelined: ReadonlySet<Subscription>): void {
    for (const sub of this.subs.all()) if (!pipelined.has(sub)) this.sendSubscribe(sub);
    // Every unanswered publish goes out again, in order (held ones included: a new link ends a pause).
    this.publishes.endPause();
    for (const entry of this.publishes.inOrder()) this.sendPublish(entry);
    this.publishes.sendFired(link, welcome.v >= 2, (err) => this.emit('error', err));
  }

  // ---- requests ----------------------------------------------------------------

  private sendSubscribe(sub: Subscription): void {
    const id = this.requests.add({ kind: 'sub', sub });
    this.link!.send(sub.request(id));
  }

  /**
   * A (re)subscribe was refused. A subscription is never dropped silently: a retryable refusal
   * (NotReady: this broker cannot vouch for its copy now; RateLimited …) is retried — a NotReady
   * at another broker when there is one (every subscription resumes there), otherwise here after
   * a backoff — and a final one ends it with its `ended` event (or rejects subscribe()). A first
   * subscribe with a single URL is refused to its caller, like a publish.
   */
  private subscribeRefused(sub: Subscription, error: RequestError): void {
    if (!sub.active || this.closedByApp) return;
    const next = afterRefusal(error.code, this.urls.length > 1, this.subs.awaited(sub));
    if (next === 'move') return this.link?.close(CloseCode.NotReady, 'broker not ready');
    if (next === 'retry') {
      const link = this.link;
      clearTimeout(sub.retryTimer);
      sub.retryTimer = setTimeout(() => {
        // A new link resubscribed everything at its welcome already.
        if (sub.active && !this.closedByApp && this.link === link && this.welcome !== undefined) this.sendSubscribe(sub);
      }, backoffDelayMs(sub.retries++, this.options.reconnect ?? {}));
      return;
    }
    if (!this.subs.refuse(sub, error)) this.emit('error', error);
  }

  /**
   * A publish refused as Unavailable (its topic's state is on no broker now: the mesh waits for a
   * copy to come back). Every broker would refuse it alike, so the client stays and pauses
   * publishing to that topic for a backoff: the refused publish and every one to the topic issued
   * meanwhile are held, then sent again in publish order, with their publish ids — a later publish
   * to the topic never overtakes it. Other topics' publishes go on meanwhile.
   */
  private publishLater(pid: number): void {
    const link = this.link;
    this.publishes.pause(pid, (pauses) => backoffDelayMs(pauses, this.options.reconnect ?? {}), (held) => {
      if (this.closedByApp || this.link !== link || this.welcome === undefined) return;
      for (const entry of held) this.sendPublish(entry);
    });
  }

  private sendPublish(entry: PendingPublish): void {
    const id = this.requests.add({ kind: 'pub', pid: entry.pid }, this.welcome!.v >= 2);
    this.link!.send(encodePublish(id, entry.topic, entry.kind, entry.pid, entry.data));
  }

  private unsubscribe(sub: Subscription): Promise<void> {
    if (!sub.active) return Promise.resolve();
    this.subs.remove(sub);
    // Sent behind the hello and not yet welcomed: the broker will hold it, so it is unsubscribed too.
    const early = this.connection.pipelined.delete(sub);
    if (this.link === undefined || (this.welcome === undefined && !early)) return Promise.resolve();
    const link = this.link;
    return new Promise((resolve) => {
      // The id is read when the broker answers: a subscribe answered meanwhile has set it.
      const id = this.requests.add({ kind: 'unsub', done: () => (this.subs.retire(sub.sid), resolve()) });
      link.send({ type: 'unsub', id, topic: sub.topic });
    });
  }

  // ---- inbound -------------------------------------------------------------------

  private onMessage(link: Link, message: ServerMessage | CompactMessage): void {
    if (Array.isArray(message)) return this.subs.compact(message);
    switch (message.type) {
      case 'ping':
        return link.send({ type: 'pong' });
      case 'msg':
        return this.subs.message(message);
      case 'join':
      case 'leave':
        return this.subs.presence(message);
      case 'reply':
        return this.onReply(message.id, message);
      case 'acks':
        return this.onAcks(message.seqs);
      case 'expired':
        return refreshToken(this.options, (token) => {
          if (this.link === link) link.send({ type: 'refresh', id: this.requests.add({ kind: 'refresh' }), token });
        }, (err) => this.emit('error', err));
      case 'error':
        if (message.id === undefined) {
          this.emit('error', new RequestError(message.code, message.message));
          return;
        }
        return this.onReply(message.id, new RequestError(message.code, message.message));
      default:
        // An unknown message type from a newer broker: ignore it.
        return;
    }
  }

  /** v2: the next `seqs.length` publishes sent and not refused were applied, with these seqs. */
  private onAcks(seqs: readonly number[]): void {
    const ids = this.requests.nextAcked(seqs.length);
    ids.forEach((id, i) => this.onReply(id, { type: 'reply', id, seq: seqs[i]! }));
  }

  private onReply(id: number, outcome: ReplyMessage | RequestError): void {
    const request = this.requests.take(id);
    if (request === undefined) return;
    switch (request.kind) {
      case 'pub':
        if (outcome instanceof RequestError && outcome.code === ErrorCode.Unavailable) return this.publishLater(request.pid);
        if (outcome instanceof RequestError && outcome.code === ErrorCode.NotReady && this.urls.length > 1) {
          // This broker cannot order publishes now (it is outside the primary view, or
          // draining): the publish stays queued and goes, with its publish id, to the broker
          // the client moves to — applied once either way.
          this.link?.close(CloseCode.NotReady, 'broker not ready');
          return;
        }
        this.publishes.settle(request.pid, outcome instanceof RequestError ? outcome : { seq: (outcome as PublishReply).seq });
        return;
      case 'unsub':
        return request.done();
      case 'refresh':
        if (outcome instanceof RequestError) this.emit('error', outcome);
        return;
      case 'sub':
        if (!(outcome instanceof RequestError)) this.subs.confirm(request.sub, outcome as SubscribeReply);
        else this.subscribeRefused(request.sub, outcome);
        return;
      default: {
        const never: never = request;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
  }
}
