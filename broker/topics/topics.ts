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
  checkEncodedData,
  checkSubscribeTopic,
  checkTopic,
  type SubscribeReply,
} from '../../client/protocol/index.js';
import type { ApplyResult, UnstampedCommand } from './commands.js';
import { LocalStream, type CommandStream } from './stream.js';
import { SubscriberIndex, type Subscriber } from './subscriber-index.js';
import { TopicTable } from './topic-table.js';
import { Topic } from './topic.js';
import { History, type HistoryEntry } from './history.js';

export type { TopicsOptions, TopicInterest, SubscribeRequest, SubscribeOutcome, PublishRequest, Failure } from './topics-api.js';
import type { TopicsOptions, SubscribeRequest, SubscribeOutcome, PublishRequest, Failure } from './topics-api.js';

/** A resume waiting for this broker's copy of its topic to reach its `since`. */
interface SeqWaiter {
  since: number;
  /** Runs the subscribe again (it answers, waits on, or refuses once past its deadline). */
  retry: () => void;
}

export class Topics {
  readonly index = new SubscriberIndex();
  readonly table: TopicTable;
  readonly stream: CommandStream;
  /** Told after every presence change applied here, in the topic's order, and for every topic loaded from a snapshot (rooms.ts counts players with it). */
  onPresence: ((topic: string) => void) | undefined;
  /**
   * Subscribes waiting (for a copy to load, or to reach a resume's seq), per subscriber and topic:
   * true once an unsubscribe of that topic came meanwhile — the subscribe is then refused when it
   * runs again instead of registering a subscription its client has let go.
   */
  private readonly waitingSubscribes = new Map<Subscriber, Map<string, boolean>>();
  /** Resumes ahead of this broker's copy, by topic (docs/protocol.md §8.4). */
  private readonly seqWaiters = new Map<string, SeqWaiter[]>();

  constructor(private readonly options: TopicsOptions) {
    const index = this.index;
    this.table = new TopicTable({
      limits: options.limits,
      // Subscribers first, then the resumes that waited for this seq (they register after it).
      sink: {
        message: (topic, seq, entry) => {
          index.message(topic, seq, entry);
          if (this.seqWaiters.size > 0) this.advanced(topic, seq);
        },
        presence: (topic, encoded) => {
          index.presence(topic, encoded);
          this.onPresence?.(topic);
        },
        loaded: (topic) => this.onPresence?.(topic),
      },
      newEpoch: options.newEpoch,
      // System topics (`$rooms`) are never dropped to make room: their state is kept by brokers only.
      isPinned: options.createOnSubscribe === false ? () => true : (topic) => topic.charCodeAt(0) === 36 /* $ */ || this.index.isPinned(topic),
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
  subscribe(subscriber: Subscriber, request: SubscribeRequest, respond: (outcome: SubscribeOutcome) => void, deadline?: number): void {
    const { topic } = request;
    const check = checkSubscribeTopic(topic, this.options.topicBytesMax);
    if (!check.ok) return respond(topicFailure(topic, check.reason));
    // Checked again whenever a subscribe that waited runs again: a broker that left the primary
    // view meanwhile answers nothing from its copy.
    const unavailable = this.options.unavailable?.();
    if (unavailable !== undefined) return respond(unavailable);
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
      this.markWaiting(subscriber, topic);
      return interest.await(wanted, (fail) => {
        if (this.endWaiting(subscriber, topic)) return respond(unsubscribedMeanwhile(topic));
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
    const waitMs = this.options.resumeWaitMs ?? 0;
    if (request.since !== undefined && request.since > 0 && waitMs > 0) {
      // A resume ahead of this copy: the subscriber saw seqs (from another broker) that this copy
      // has not delivered yet. Answering now would take it back (recovered: false at an older
      // seq, then those seqs again); it waits, bounded, until the copy reaches `since`.
      const current = this.table.get(topic);
      const sameEpoch = current !== undefined && (request.epoch === undefined || request.epoch === current.epoch);
      const ahead = current === undefined || (sameEpoch && request.since > current.seq);
      if (ahead) {
        const now = this.options.now();
        const until = deadline ?? now + waitMs;
        if (now < until) {
          this.markWaiting(subscriber, topic);
          return this.waitForSeq(topic, request.since, () => {
            if (this.endWaiting(subscriber, topic)) return (this.release(topic), respond(unsubscribedMeanwhile(topic)));
            if (subscriber.isClosed === true) return this.release(topic);
            this.subscribe(subscriber, request, respond, until);
          });
        }
        // Past the bound. A topic this copy keeps but behind `since`: refused, retryable. A topic
        // that does not exist here at all (its state was lost, with every copy): answered below
        // as a topic that did not exist, under no epoch.
        if (current !== undefined) {
          this.release(topic);
          return respond(failure(ErrorCode.NotReady, `this broker's copy of ${topic.slice(0, 64)} is at seq ${current.seq}, behind since ${request.since}; retry (it is not answered at an older seq)`));
        }
      }
    }
    const t = this.options.createOnSubscribe === false ? this.table.get(topic) ?? emptyTopic(topic) : this.table.ensure(topic);
    const seq = t.seq;
    const reply: Omit<SubscribeReply, 'type' | 'id'> = { topic, seq, epoch: t.epoch };
    let replay: HistoryEntry[] = [];
    let includeState = request.state === true;
    if (request.since !== undefined) {
      const since = request.since;
      let entries: HistoryEntry[] | undefined;
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
        replay = entries;
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

  private markWaiting(subscriber: Subscriber, topic: string): void {
    let waiting = this.waitingSubscribes.get(subscriber);
    if (waiting === undefined) this.waitingSubscribes.set(subscriber, (waiting = new Map()));
    waiting.set(topic, false);
  }

  /** The wait is over; true if the subscribe was let go meanwhile. */
  private endWaiting(subscriber: Subscriber, topic: string): boolean {
    const waiting = this.waitingSubscribes.get(subscriber);
    const cancelled = waiting?.get(topic) === true;
    waiting?.delete(topic);
    if (waiting?.size === 0) this.waitingSubscribes.delete(subscriber);
    return cancelled;
  }

  /** A topic with local subscribers, or a resume waiting for it: this broker must go on keeping it. */
  isPinned(topic: string): boolean {
    return this.index.isPinned(topic) || this.seqWaiters.has(topic);
  }

  /** Deadlines of waiting resumes, and copies that jumped ahead by a snapshot: every waiter runs again. */
  tick(): void {
    for (const topic of [...this.seqWaiters.keys()]) this.advanced(topic, Number.POSITIVE_INFINITY);
  }

  private waitForSeq(topic: string, since: number, retry: () => void): void {
    let list = this.seqWaiters.get(topic);
    if (list === undefined) this.seqWaiters.set(topic, (list = []));
    list.push({ since, retry });
  }

  /** `topic` reached `seq` here: the resumes waiting for it run again, after this command is applied. */
  private advanced(topic: string, seq: number): void {
    const list = this.seqWaiters.get(topic);
    if (list === undefined) return;
    const due = list.filter((w) => w.since <= seq);
    if (due.length === 0) return;
    const rest = list.filter((w) => w.since > seq);
    if (rest.length > 0) this.seqWaiters.set(topic, rest);
    else this.seqWaiters.delete(topic);
    // Not inside TopicTable.apply: the subscribe may submit a presence join. It reads the table
    // as it is when it runs (perhaps a few commands later), in one step as always.
    for (const w of due) this.options.defer(() => {
      w.retry();
      this.release(topic);
    });
  }

  /** Nobody here wants `topic` any more (a waiting resume gave up or its subscriber left): let it go. */
  private release(topic: string): void {
    if (!this.isPinned(topic)) this.options.interest?.unpin(topic);
  }

  /**
   * Reads a topic as this broker keeps it (undefined: none yet). In the mesh a broker that does
   * not keep the topic loads it first (and lets it go again when nobody here subscribes).
   */
  read(topic: string, done: (outcome: { ok: true; topic: Topic | undefined } | Failure) => void): void {
    const unavailable = this.options.unavailable?.();
    if (unavailable !== undefined) return done(unavailable);
    const interest = this.options.interest;
    if (interest === undefined || interest.keeps(topic)) return done({ ok: true, topic: this.table.get(topic) });
    interest.await(topic, (fail) => done(fail ?? { ok: true, topic: this.table.get(topic) }));
  }

  /** Why this broker cannot vouch for its copies now (the `unavailable` option: outside a primary view …), or undefined. */
  unavailability(): Failure | undefined {
    return this.options.unavailable?.();
  }

  /** Ends one subscription (or a subscribe still waiting for the topic); false if there was none. */
  unsubscribe(subscriber: Subscriber, topic: string): boolean {
    const removed = this.index.remove(subscriber, topic);
    if (removed === false) {
      const waiting = this.waitingSubscribes.get(subscriber);
      if (waiting?.has(topic) !== true) return false;
      waiting.set(topic, true);
      return true;
    }
    if (removed?.inPresence === true) this.stream.submit({ kind: 'presence-leave', topic, session: subscriber.id }, ignore);
    return true;
  }

  /** Ends every subscription of a subscriber whose connection is gone. */
  drop(subscriber: Subscriber): void {
    for (const [topic] of this.index.subscriptionsOf(subscriber)) this.unsubscribe(subscriber, topic);
    this.index.forget(subscriber);
  }

  publish(request: PublishRequest, done: (result: ApplyResult) => void): void {
    const check = checkTopic(request.topic, false, this.options.topicBytesMax);
    if (!check.ok) return done(topicFailure(request.topic, check.reason));
    this.submitPublish(request, done);
  }

  /** A publish by the broker itself: to a system topic (`$rooms`) too, which no client may publish to. */
  publishSystem(request: PublishRequest, done: (result: ApplyResult) => void): void {
    this.submitPublish(request, done);
  }

  private submitPublish(request: PublishRequest, done: (result: ApplyResult) => void): void {
    const data = request.encoded === undefined ? checkData(request.data, this.options.payloadBytesMax) : checkEncodedData(request.encoded, request.data, this.options.payloadBytesMax);
    if (!data.ok) return done(data);
    // One shape for every publish (absent fields are undefined, never deleted: a `delete` would
    // move the object to V8's slow dictionary mode), the payload with its encoding from its check.
    const command: UnstampedCommand = { kind: 'publish', topic: request.topic, msgKind: request.kind, data: request.data, encoded: data.encoded, client: request.client, pid: request.pid, key: request.key, digest: request.digest };
    this.stream.submit(command, done);
  }
}

function ignore(): void {}

function unsubscribedMeanwhile(topic: string): Failure {
  return failure(ErrorCode.NotSubscribed, `unsubscribed from ${topic.slice(0, 64)} before the subscription was made`);
}

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
