/**
 * The topic service the broker's edge talks to: subscribe (with state, resume
 * and presence), unsubscribe, publish, and dropping a session. It validates at
 * the edge, sends commands through the ordered stream, and keeps subscribe
 * atomic with respect to that stream.
 *
 * Why subscribe-with-state has no gap and no duplicate: the snapshot is read
 * and the subscriber registered in one synchronous step between two applied
 * commands. The reply (state at seq s) is queued to the session before any
 * later message, and every message after s reaches the session through the
 * index, in seq order, after the reply.
 */
import {
  ErrorCode,
  checkData,
  checkTopic,
  type MessageKind,
  type PresenceOptions,
  type SubscribeReply,
} from '../../client/protocol/index.js';
import type { ApplyResult } from './commands.js';
import type { TopicLimits } from './config.js';
import { LocalStream, type CommandStream } from './stream.js';
import { SubscriberIndex, type PinListener, type Subscriber } from './subscriber-index.js';
import { TopicTable } from './topic-table.js';
import { Topic } from './topic.js';
import { History } from './history.js';

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
  newEpoch: (command: import('./commands.js').TopicCommand | undefined) => string;
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
  now?: () => number;
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
  | { ok: true; reply: Omit<SubscribeReply, 'type' | 'id'>; replay: Uint8Array[] }
  | { ok: false; code: ErrorCode; message: string };

export interface PublishRequest {
  topic: string;
  kind: MessageKind;
  data: unknown;
  client?: string;
  pid?: number;
  /** Idempotency key (HTTP publishes): a retry with the same key is applied once. */
  key?: string;
}

export type Failure = { ok: false; code: ErrorCode; message: string };

export class Topics {
  readonly index = new SubscriberIndex();
  readonly table: TopicTable;
  readonly stream: CommandStream;

  constructor(private readonly options: TopicsOptions) {
    this.table = new TopicTable({
      limits: options.limits,
      sink: this.index,
      newEpoch: options.newEpoch,
      isPinned: options.createOnSubscribe === false ? () => true : (topic) => this.index.isPinned(topic),
      ...(options.streamOf === undefined ? {} : { streamOf: options.streamOf }),
    });
    if (options.createOnSubscribe !== false) this.index.pins = this.table;
    if (options.interest !== undefined) this.index.pins = options.interest;
    this.stream = options.stream?.(this.table) ?? new LocalStream(this.table, options.now);
  }

  /**
   * Subscribes; `respond` runs exactly once, before any message of the new
   * subscription reaches the subscriber (the caller queues the reply there).
   */
  subscribe(subscriber: Subscriber, request: SubscribeRequest, respond: (outcome: SubscribeOutcome) => void): void {
    const { topic } = request;
    const check = checkTopic(topic, true, this.options.topicBytesMax);
    if (!check.ok) return respond(topicFailure(topic, check.reason));
    if (this.index.has(subscriber, topic)) return respond(failure(ErrorCode.AlreadySubscribed, `already subscribed to ${topic}`));
    if (this.index.countFor(subscriber) >= this.options.subscriptionsMax) {
      return respond(failure(ErrorCode.TooManySubscriptions, `at most ${this.options.subscriptionsMax} subscriptions per connection`));
    }
    const presence = request.presence;
    if (check.wildcard && (request.state === true || request.since !== undefined || presence !== undefined)) {
      return respond(failure(ErrorCode.WildcardNotAllowed, 'a wildcard subscription cannot ask for state, since or presence'));
    }
    const interest = this.options.interest;
    const wanted = check.wildcard ? undefined : topic;
    if (interest !== undefined && !interest.keeps(wanted)) {
      // Not kept here yet: the broker takes it (a snapshot at a known stream position), then
      // the subscribe runs again from the top, now against a table that keeps the topic.
      return interest.await(wanted, (fail) => {
        if (fail !== undefined) return respond(fail);
        if (subscriber.isClosed !== true) this.subscribe(subscriber, request, respond);
      });
    }
    if (check.wildcard) {
      this.index.addPattern(subscriber, topic);
      return respond({ ok: true, reply: { topic, seq: 0, epoch: '' }, replay: [] });
    }
    if (presence?.info !== undefined) {
      const info = checkData(presence.info, this.options.presenceInfoBytesMax, 'presence info');
      if (!info.ok) return respond(info);
    }

    // Whether a topic with this name existed before matters to a resume, so the
    // subscriber learns the epoch now even if nothing was published yet.
    // (In the mesh, topic creation will be a command of the LWG stream.)
    const existed = this.table.get(topic) !== undefined;
    const t = this.options.createOnSubscribe === false ? this.table.get(topic) ?? emptyTopic(topic) : this.table.ensure(topic);
    const seq = t.seq;
    const reply: Omit<SubscribeReply, 'type' | 'id'> = { topic, seq, epoch: t.epoch };
    let replay: Uint8Array[] = [];
    let includeState = request.state === true;
    if (request.since !== undefined) {
      const since = request.since;
      let entries: Array<{ encoded: Uint8Array }> | undefined;
      if (!existed) {
        entries = since === 0 ? [] : undefined;
      } else if (since > 0 && request.epoch !== undefined && request.epoch !== t.epoch) {
        entries = undefined; // the topic was dropped and created again: old seqs mean nothing now
      } else {
        entries = t.history.after(since, t.seq);
      }
      reply.recovered = entries !== undefined;
      if (entries === undefined) {
        includeState = true; // a fresh snapshot at the current seq
      } else {
        // The subscription starts after `since`; the replay brings it to the
        // current seq, so a state here would be applied twice.
        includeState = false;
        reply.seq = since;
        replay = entries.map((e) => e.encoded);
      }
    }
    if (includeState) reply.state = t.state;
    if (presence !== undefined) reply.presence = t.presenceObject();
    const joins = presence !== undefined && presence.hidden !== true;
    this.index.addExact(subscriber, topic, { watchesPresence: presence !== undefined, inPresence: joins });
    respond({ ok: true, reply, replay });
    if (joins) {
      const entry = presence.info === undefined ? { client: subscriber.client } : { client: subscriber.client, info: presence.info };
      this.stream.submit({ kind: 'presence-join', topic, session: subscriber.id, entry }, ignore);
    }
  }

  /**
   * Reads a topic as this broker keeps it (undefined: none yet). In the mesh a broker that does
   * not keep the topic loads it first (and lets it go again when nobody here subscribes).
   */
  read(topic: string, done: (outcome: { ok: true; topic: Topic | undefined } | Failure) => void): void {
    const interest = this.options.interest;
    if (interest === undefined || interest.keeps(topic)) return done({ ok: true, topic: this.table.get(topic) });
    interest.await(topic, (fail) => done(fail ?? { ok: true, topic: this.table.get(topic) }));
  }

  /** Ends one subscription; false if there was none. */
  unsubscribe(subscriber: Subscriber, topic: string): boolean {
    const removed = this.index.remove(subscriber, topic);
    if (removed === false) return false;
    if (removed?.inPresence === true) this.stream.submit({ kind: 'presence-leave', topic, session: subscriber.id }, ignore);
    return true;
  }

  /** Ends every subscription of a subscriber whose connection is gone. */
  drop(subscriber: Subscriber): void {
    for (const [topic] of this.index.subscriptionsOf(subscriber)) this.unsubscribe(subscriber, topic);
  }

  publish(request: PublishRequest, done: (result: ApplyResult) => void): void {
    const check = checkTopic(request.topic, false, this.options.topicBytesMax);
    if (!check.ok) return done(topicFailure(request.topic, check.reason));
    const data = checkData(request.data, this.options.payloadBytesMax);
    if (!data.ok) return done(data);
    const command = { kind: 'publish' as const, topic: request.topic, msgKind: request.kind, data: request.data, client: request.client, pid: request.pid, key: request.key };
    if (command.client === undefined) delete command.client;
    if (command.pid === undefined) delete command.pid;
    if (command.key === undefined) delete command.key;
    this.stream.submit(command, done);
  }
}

function ignore(): void {}

/** A topic not created yet, as a subscriber sees it: seq 0, no epoch, no state, nobody present. */
function emptyTopic(name: string): Topic {
  return new Topic(name, '', new History(0, 0));
}

function failure(code: ErrorCode, message: string): Failure {
  return { ok: false, code, message };
}

function topicFailure(topic: unknown, reason: string): Failure {
  const shown = typeof topic === 'string' ? JSON.stringify(topic.slice(0, 64)) : typeof topic;
  if (reason === 'reserved') return failure(ErrorCode.ReservedTopic, `topic ${shown} is reserved: names starting with $ belong to the system`);
  if (reason === 'bad-wildcard') return failure(ErrorCode.InvalidTopic, `topic ${shown}: wildcards are not allowed here, and > must be the last token`);
  return failure(ErrorCode.InvalidTopic, `invalid topic ${shown} (${reason}): dot-separated tokens of [A-Za-z0-9_:-], within the length limit`);
}
