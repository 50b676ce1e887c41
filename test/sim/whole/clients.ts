/**
 * Simulated clients that behave as the client library does, built on its own
 * parts: each subscription is the library's `Subscription` (resume from the
 * last seq, duplicates dropped, gaps reported, state kept), refusals go
 * through its `afterRefusal` rule, and a publisher keeps unanswered publishes
 * with their publish ids and sends them again, in order, through the next
 * broker after a failure. What they see is recorded for the checker, on the
 * wire and as the application sees it.
 */
import { ErrorCode, type ServerMessage, type SubscribeReply, type TopicMessage } from '../../../client/protocol/index.js';
import { Subscription } from '../../../client/subscription.js';
import { afterRefusal } from '../../../client/subscriptions.js';
import type { ApplyResult } from '../../../broker/topics/index.js';
import type { SimSession, World } from './world.js';

/** What one subscription saw, for the checker. */
export interface SubscriptionRecord {
  client: string;
  topic: string;
  /** On the wire: replies (seq, recovered, epoch) and messages, in arrival order. */
  wire: Array<{ type: 'reply'; seq: number; epoch: string; recovered?: boolean } | { type: 'msg'; seq: number; epoch?: string }>;
  /** What the application was handed, in order. */
  /** What the application was handed, with the epoch the subscription was in when it was. */
  delivered: Array<{ seq: number; data: unknown; kind: string; epoch: string }>;
  /** Resyncs after resumes, and the seq of the first snapshot. */
  resyncs: Array<{ recovered: boolean; seq: number }>;
  firstSeq: number | undefined;
  /** The library's own complaints (a gap) and refusals that ended it. */
  errors: string[];
  sub: Subscription;
}

/** Ticks before a client tries again (another broker, or the same request). */
function backoff(random: () => number, attempt: number): number {
  return Math.min(100, 5 * 2 ** Math.min(attempt, 4)) + Math.floor(random() * 10);
}

abstract class SimClient {
  protected session: SimSession | undefined;
  protected retryAt = 0;
  private attempt = 0;
  private next: number;

  constructor(
    protected readonly world: World,
    readonly id: string,
    protected readonly brokers: readonly string[],
    protected readonly random: () => number,
  ) {
    this.next = Math.floor(random() * brokers.length);
  }

  /** Called every tick: (re)connects when due. */
  step(): void {
    if (this.session !== undefined && !this.session.closed) return;
    if (this.world.now < this.retryAt) return;
    const name = this.brokers[this.next++ % this.brokers.length]!;
    const session = this.world.connect(name, this.id, (m) => this.onMessage(m));
    if (session === undefined) {
      this.retryAt = this.world.now + backoff(this.random, this.attempt++);
      return;
    }
    this.session = session;
    const broker = this.world.brokers.get(name)!;
    const closed = (s: SimSession): void => {
      if (s !== session) return;
      broker.onSessionsClosed.delete(closed);
      this.lost();
    };
    broker.onSessionsClosed.add(closed);
    this.attempt = 0;
    this.connected();
  }

  /** Leaves this broker (it cannot serve now) and tries the next one. */
  protected move(): void {
    const session = this.session;
    if (session === undefined) return;
    this.world.disconnect(session);
    this.lost();
  }

  private lost(): void {
    this.session = undefined;
    this.retryAt = this.world.now + backoff(this.random, this.attempt++);
    this.disconnected();
  }

  protected abstract connected(): void;
  protected abstract disconnected(): void;
  protected abstract onMessage(message: ServerMessage): void;
}

export class SimSubscriber extends SimClient {
  readonly records: SubscriptionRecord[] = [];
  private readonly byTopic = new Map<string, SubscriptionRecord>();
  private requestId = 0;

  subscribe(topic: string): void {
    const record: SubscriptionRecord = {
      client: this.id,
      topic,
      wire: [],
      delivered: [],
      resyncs: [],
      firstSeq: undefined,
      errors: [],
      sub: undefined as unknown as Subscription,
    };
    record.sub = new Subscription(
      topic,
      false,
      (m) => record.delivered.push({ seq: m.seq, data: m.data, kind: m.kind, epoch: record.sub.epoch }),
      { state: true },
      () => Promise.resolve(),
      (err) => record.errors.push(err instanceof Error ? err.message : String(err)),
    );
    record.sub.on('resync', (e) => record.resyncs.push(e));
    this.records.push(record);
    this.byTopic.set(topic, record);
    if (this.session !== undefined && !this.session.closed) this.send(record);
  }

  protected connected(): void {
    for (const record of this.records) if (record.sub.active) this.send(record);
  }

  protected disconnected(): void {
    for (const record of this.records) record.sub.pending = true;
  }

  private send(record: SubscriptionRecord): void {
    const session = this.session;
    if (session === undefined || session.closed) return; // moved on meanwhile: the next broker resubscribes
    const request = record.sub.request(++this.requestId);
    this.world.request(session, (broker) =>
      broker.node.topics.subscribe(session, { topic: request.topic, ...(request.state ? { state: true } : {}), ...(request.since === undefined ? {} : { since: request.since }), ...(request.epoch === undefined ? {} : { epoch: request.epoch }) }, (outcome) => {
        if (session.closed || this.session !== session) return;
        if (!outcome.ok) return this.refused(record, outcome.code, outcome.message);
        const reply = { type: 'reply', id: request.id, ...outcome.reply } as SubscribeReply;
        record.wire.push({ type: 'reply', seq: reply.seq, epoch: reply.epoch, ...(reply.recovered === undefined ? {} : { recovered: reply.recovered }) });
        record.sub.confirm(reply);
        record.firstSeq ??= reply.seq;
        for (const entry of outcome.replay) session.deliver(entry.encoded);
      }),
    );
  }

  private refused(record: SubscriptionRecord, code: number, message: string): void {
    const next = afterRefusal(code, this.brokers.length > 1, false);
    if (next === 'move') return this.move();
    if (next === 'retry') {
      const session = this.session;
      const at = this.world.now + backoff(this.random, 1);
      this.world.later(at, () => {
        if (this.session === session && session !== undefined && !session.closed) this.send(record);
      });
      return;
    }
    record.errors.push(`ended by a refusal ${code}: ${message}`);
    record.sub.active = false;
  }

  protected onMessage(message: ServerMessage): void {
    if (message.type !== 'msg') return;
    const record = this.byTopic.get(message.topic);
    if (record === undefined) return;
    record.wire.push({ type: 'msg', seq: message.seq, ...(message.epoch === undefined ? {} : { epoch: message.epoch }) });
    record.sub.receive(message as TopicMessage);
  }
}

/** An acknowledged publish: what the client was told. */
export interface Ack {
  client: string;
  pid: number;
  topic: string;
  seq: number;
  data: { c: string; n: number };
  kind: 'event' | 'state' | 'patch';
  dup: boolean;
}

export class SimPublisher extends SimClient {
  readonly acks: Ack[] = [];
  readonly errors: string[] = [];
  /**
   * Publishes without a publish id (an HTTP publish without an Idempotency-Key) are applied at most
   * once by the broker's own rules alone: such a publisher never sends one again — a failure or a
   * lost connection leaves its outcome unknown (counted here, not an error).
   */
  withIds = true;
  unknown = 0;
  /** Unanswered publishes, in pid order (sent again, in order, after a failure). */
  private readonly pending = new Map<number, { topic: string; kind: 'event' | 'state' | 'patch'; data: { c: string; n: number }; sentOn?: SimSession }>();
  private pid = 0;

  get unanswered(): number {
    return this.pending.size;
  }

  publish(topic: string, kind: 'event' | 'state' | 'patch'): void {
    const pid = ++this.pid;
    this.pending.set(pid, { topic, kind, data: { c: this.id, n: pid } });
    if (this.session !== undefined && !this.session.closed) this.send(pid);
  }

  protected connected(): void {
    for (const pid of this.pending.keys()) this.send(pid);
  }

  protected disconnected(): void {
    for (const [pid, entry] of this.pending) {
      if (!this.withIds && entry.sentOn !== undefined) {
        this.pending.delete(pid);
        this.unknown++;
      }
      delete entry.sentOn;
    }
  }

  private send(pid: number): void {
    const session = this.session;
    const entry = this.pending.get(pid);
    if (session === undefined || session.closed || entry === undefined) return; // moved on meanwhile: sent again there
    entry.sentOn = session;
    this.world.request(session, (broker) =>
      broker.node.topics.publish(
        this.withIds ? { topic: entry.topic, kind: entry.kind, data: entry.data, client: this.id, pid } : { topic: entry.topic, kind: entry.kind, data: entry.data },
        (result: ApplyResult) => this.answered(session, pid, result),
      ),
    );
  }

  private answered(session: SimSession, pid: number, result: ApplyResult): void {
    const entry = this.pending.get(pid);
    if (entry === undefined || entry.sentOn !== session) return; // answered already, or sent again since
    if (result.ok) {
      this.pending.delete(pid);
      this.acks.push({ client: this.id, pid, topic: entry.topic, seq: result.seq, data: entry.data, kind: entry.kind, dup: result.dup === true });
      return;
    }
    if (result.code === ErrorCode.Unavailable) {
      // As the library does: its topic's group waits for a copy; not applied anywhere, so sent
      // again (with its pid, if it has one) on this session after a backoff.
      const at = this.world.now + backoff(this.random, 1);
      this.world.later(at, () => {
        if (this.session === session && !session.closed && this.pending.get(pid)?.sentOn === session) this.send(pid);
      });
      return;
    }
    if (!this.withIds && result.code === ErrorCode.NotReady) {
      // Refused before it was ordered, or not answered in time: without an id it is not sent again.
      this.pending.delete(pid);
      this.unknown++;
      if (this.session === session) this.move();
      return;
    }
    if (result.code === ErrorCode.NotReady || result.code === ErrorCode.ShuttingDown || result.code === ErrorCode.TooManyRequests) {
      // As the library does: the publish stays queued and goes, with its pid, to the next broker.
      if (this.session === session) this.move();
      return;
    }
    this.pending.delete(pid);
    this.errors.push(`publish ${pid} to ${entry.topic} refused: ${result.code} ${result.message}`);
  }

  protected onMessage(): void {}
}
