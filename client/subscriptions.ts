/**
 * The client's subscriptions: one per topic or pattern, the promises of those
 * not yet confirmed, and the routing of inbound messages to every
 * subscription that matches (the broker sends a message once per connection,
 * however many of its subscriptions match).
 */
import { RequestError, isRetryable } from './errors.js';
import { ErrorCode, kindOfCode, matchTopic, type CompactMessage, type PresenceMessage, type SubscribeReply, type TopicMessage } from './protocol/index.js';
import { Subscription, type MessageHandler, type SubscribeOptions } from './subscription.js';

interface Waiter {
  resolve(sub: Subscription): void;
  reject(err: Error): void;
}

export class SubscriptionRegistry {
  private readonly byTopic = new Map<string, Subscription>();
  private readonly patterns = new Set<Subscription>();
  private readonly waiters = new Map<Subscription, Waiter>();
  /**
   * v2: the topic each subscription id of this link's broker stands for. Kept after an unsubscribe
   * until its reply (`retire`): deliveries sent before it still route to matching patterns.
   */
  private readonly bySid = new Map<number, string>();

  /** Registers a subscription; the promise settles on the broker's first answer. */
  add(
    topic: string,
    wildcard: boolean,
    handler: MessageHandler,
    options: SubscribeOptions,
    unsubscribe: (s: Subscription) => Promise<void>,
    onError: (err: unknown) => void,
  ): { sub: Subscription; confirmed: Promise<Subscription> } {
    if (this.byTopic.has(topic)) throw new RequestError(ErrorCode.AlreadySubscribed, `already subscribed to ${topic}`);
    const sub = new Subscription(topic, wildcard, handler, options, unsubscribe, onError);
    if (options.since !== undefined) {
      sub.seq = options.since;
      sub.epoch = options.epoch ?? '';
    }
    this.byTopic.set(topic, sub);
    if (wildcard) this.patterns.add(sub);
    const confirmed = new Promise<Subscription>((resolve, reject) => this.waiters.set(sub, { resolve, reject }));
    return { sub, confirmed };
  }

  all(): IterableIterator<Subscription> {
    return this.byTopic.values();
  }

  /** Takes a subscription out; a still-waiting subscribe() is rejected. */
  remove(sub: Subscription, reason?: Error): void {
    sub.active = false;
    clearTimeout(sub.retryTimer);
    if (this.byTopic.get(sub.topic) === sub) this.byTopic.delete(sub.topic);
    this.patterns.delete(sub);
    const waiter = this.waiters.get(sub);
    this.waiters.delete(sub);
    if (waiter !== undefined) waiter.reject(reason ?? new RequestError(ErrorCode.NotSubscribed, 'unsubscribed before the broker confirmed'));
  }

  /** The broker confirmed a (re)subscribe. */
  confirm(sub: Subscription, reply: SubscribeReply): void {
    // Mapped even when the subscription was let go meanwhile: until the unsubscribe's reply, the
    // broker still sends under this id, and patterns may want those messages.
    if (reply.sid !== undefined) this.bySid.set(reply.sid, reply.topic);
    sub.sid = reply.sid;
    if (!sub.active) return;
    sub.confirm(reply);
    const waiter = this.waiters.get(sub);
    this.waiters.delete(sub);
    waiter?.resolve(sub);
  }

  /**
   * The broker refused a (re)subscribe for good: the subscription ends. Returns true if a
   * subscribe() promise took the error, false if nobody was waiting (a refused resume): the
   * subscription's `ended` event tells the application, and the caller reports it too.
   */
  refuse(sub: Subscription, error: RequestError): boolean {
    if (!sub.active) return true;
    const waited = this.waiters.has(sub);
    this.remove(sub, error);
    if (!waited) sub.end(error);
    return waited;
  }

  /** Whether this subscription has a subscribe() promise still waiting (never confirmed). */
  awaited(sub: Subscription): boolean {
    return this.waiters.has(sub);
  }

  /** A new link is coming: every subscription waits for its resume reply. */
  markAllPending(): void {
    for (const sub of this.byTopic.values()) {
      sub.pending = true;
      sub.sid = undefined;
    }
    this.bySid.clear();
  }

  rejectAll(error: Error): void {
    for (const sub of [...this.byTopic.values()]) this.remove(sub, error);
  }

  message(message: TopicMessage): void {
    const exact = this.byTopic.get(message.topic);
    if (exact !== undefined && !exact.wildcard) exact.receive(message);
    for (const sub of this.patterns) if (matchTopic(sub.topic, message.topic)) sub.receive(message);
  }

  /** The broker confirmed an unsubscribe: nothing more comes under its subscription id. */
  retire(sid: number | undefined): void {
    if (sid !== undefined) this.bySid.delete(sid);
  }

  /** v2: a positional delivery, `[ref, seq, kind, ts, data, client?, epoch?]` (client/protocol/delivery.ts). */
  compact(m: CompactMessage): void {
    const ref = m[0];
    const topic = typeof ref === 'number' ? this.bySid.get(ref) : ref;
    if (topic === undefined) return; // a subscription let go meanwhile
    const message: TopicMessage = { type: 'msg', topic, seq: m[1], kind: kindOfCode[m[2]] ?? 'event', data: m[4], ts: m[3] };
    if (typeof m[5] === 'string') message.client = m[5];
    if (typeof m[6] === 'string') message.epoch = m[6];
    if (m[7] !== undefined) message.prev = m[7];
    this.message(message);
  }

  presence(message: PresenceMessage): void {
    const sub = this.byTopic.get(message.topic);
    if (sub !== undefined && !sub.wildcard) sub.receivePresence(message);
  }
}

/**
 * What becomes of a refused (re)subscribe. A subscription is never dropped silently: a retryable
 * refusal (NotReady: the broker cannot vouch for its copy now; RateLimited …) moves every
 * subscription to another broker when there is one and the refusal was NotReady, else is retried
 * on this link after a backoff; a first subscribe() refused with a single URL, or a refusal
 * retrying cannot cure, ends it (the promise rejects, or the `ended` event).
 */
export function afterRefusal(code: number, otherBrokers: boolean, awaited: boolean): 'move' | 'retry' | 'end' {
  if (!isRetryable(code) || (!otherBrokers && awaited)) return 'end';
  return code === ErrorCode.NotReady && otherBrokers ? 'move' : 'retry';
}
