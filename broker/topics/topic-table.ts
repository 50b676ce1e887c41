/**
 * The replicated state machine of the topic layer: every topic's seq, state,
 * history and presence set, changed only by `apply`, one ordered command at a
 * time. Deterministic given the commands and the epoch source; no I/O. What
 * it orders it hands to a `DeliverySink` (the local subscribers) as encoded
 * wire messages, encoded once whatever the number of subscribers.
 */
import { ErrorCode, encode, type PresenceEntry, type PresenceMessage } from '../../client/protocol/index.js';

/** What replicas share, as plain data (see TopicTable.snapshot). */
export interface TableSnapshot {
  topics: Array<{ name: string; epoch: string; seq: number; state: unknown; presence: Array<[string, PresenceEntry]>; history: Array<[number, Uint8Array]> }>;
  /** Per ordering stream: that stream's publish-id table ([pid, topic, seq, digest?] per publish id). */
  dedup: Array<[number, Array<[string, number, DedupEntry[]]>]>;
}
import type { ApplyResult, PresenceJoinCommand, PresenceLeaveCommand, PublishCommand, TopicCommand } from './commands.js';
import { historyLimitsFor, type TopicLimits } from './config.js';
import { PublishDedup, type DedupEntry } from './dedup.js';
import { History, HistoryEntry } from './history.js';
import { RecencyMap } from './recency-map.js';
import { Topic } from './topic.js';

export interface DeliverySink {
  /** Topic message `seq` was ordered: its history entry (the v1 wire form, and its parts). */
  message(topic: string, seq: number, entry: HistoryEntry): void;
  /** A presence change was ordered; `encoded` is its `join`/`leave` wire form. */
  presence(topic: string, encoded: Uint8Array): void;
  /** A topic was loaded from a snapshot, its presence set with it (no events: told here instead). */
  loaded?(topic: string): void;
}

export interface TopicTableOptions {
  limits: TopicLimits;
  sink: DeliverySink;
  /**
   * A fresh epoch for a topic created now, by this command, whose stream id is `id` (replicas must
   * agree: derive it from them).
   */
  newEpoch: (command: TopicCommand | undefined, id: string | undefined) => string;
  /** The ordering stream of a topic (the mesh's lightweight group); default: one stream. */
  streamOf?: (topic: string) => number;
  /** Whether a topic must not be dropped to make room (it has local subscribers). */
  isPinned: (topic: string) => boolean;
}

export class TopicTable {
  private readonly topics = new Map<string, Topic>();
  /** Topics without local subscribers, least recently used first: the eviction candidates. */
  private readonly idle = new RecencyMap<string, Topic>();
  /**
   * One publish-id table per ordering stream, changed only in that stream's order: streams are
   * interleaved differently at different replicas, so a shared table would evict differently.
   */
  private readonly dedups = new Map<number, PublishDedup>();
  /** Topics dropped to stay under `topicsMax`, for the metrics. */
  evictedTotal = 0;
  private dedupFor(topic: string): PublishDedup {
    const stream = this.options.streamOf?.(topic) ?? 0;
    let table = this.dedups.get(stream);
    if (table === undefined) this.dedups.set(stream, (table = new PublishDedup()));
    return table;
  }

  /** The command being applied, and the id its stream gave it (a topic it creates takes its epoch from them). */
  private applying: TopicCommand | undefined;
  private applyingId: string | undefined;

  constructor(private readonly options: TopicTableOptions) {}

  get size(): number {
    return this.topics.size;
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  names(): IterableIterator<string> {
    return this.topics.keys();
  }

  /**
   * Applies a command. `id` is the unique id its ordering stream gave it, when the command does
   * not carry it: a copy passes the delivery's key here rather than `{ ...command, id }`, which
   * costs V8 about two microseconds a command (adding a property to a spread copy leaves the fast
   * path, and the copies made the table's reads slow too; `node bench/apply.mjs --spread`).
   */
  apply(command: TopicCommand, id?: string): ApplyResult {
    this.applying = command;
    this.applyingId = id;
    try {
      return this.applyCommand(command);
    } finally {
      this.applying = undefined;
      this.applyingId = undefined;
    }
  }

  private applyCommand(command: TopicCommand): ApplyResult {
    switch (command.kind) {
      case 'publish':
        return this.applyPublish(command);
      case 'presence-join':
        return this.applyJoin(command);
      case 'presence-leave':
        return this.applyLeave(command);
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  }

  private applyPublish(command: PublishCommand): ApplyResult {
    // Absent fields may arrive as nil from another broker (the mesh encodes undefined as nil).
    const client = command.client ?? undefined;
    const key = command.key ?? undefined;
    // An HTTP idempotency key is de-duplicated as a client of its own with one publish id. The two
    // paths get disjoint namespaces by a first character that only this line writes: no client id
    // or token subject can make a WebSocket client collide with an HTTP key.
    const dedupClient = key !== undefined ? `h${key}` : client === undefined ? undefined : `w${client}`;
    const pid = key !== undefined ? 1 : (command.pid ?? undefined);
    if (dedupClient !== undefined && pid !== undefined) {
      const seen = this.dedupFor(command.topic).lookup(dedupClient, pid);
      if (seen.kind === 'stale') return { ok: false, code: ErrorCode.StalePublishId, message: `publish id ${pid} is too old to be checked for a retry; it was not applied` };
      if (seen.kind === 'dup' && seen.hit.topic === command.topic) {
        // The same key with another body is another request: refused, never answered with the first one's seq.
        const digest = command.digest ?? undefined;
        if (digest !== undefined && seen.hit.digest !== undefined && digest !== seen.hit.digest) {
          return { ok: false, code: ErrorCode.IdempotencyKeyReused, message: `this Idempotency-Key was already used with a different body (applied as seq ${seen.hit.seq}); nothing was applied — use a new key for a new publish` };
        }
        return { ok: true, seq: seen.hit.seq, dup: true };
      }
    }
    const topic = this.topicFor(command.topic);
    if (command.msgKind !== 'event') {
      const next = topic.stateHolder.prepare(command.msgKind, command.data);
      if (next.bytes > this.options.limits.stateBytesMax) {
        return { ok: false, code: ErrorCode.StateTooLarge, message: `the state would be ${next.bytes} bytes; at most ${this.options.limits.stateBytesMax}` };
      }
      next.commit();
    }
    const seq = topic.seq + 1;
    topic.seq = seq;
    // The first message names the topic's epoch: a subscriber that joined before the topic
    // existed (epoch "") learns it, and can tell this topic from a later re-creation on resume.
    const entry = HistoryEntry.ordered({ topic: topic.name, seq, kind: command.msgKind, ts: command.ts, data: command.encoded ?? encode(command.data), client, epoch: seq === 1 ? topic.epoch : undefined });
    topic.history.push(entry);
    if (dedupClient !== undefined && pid !== undefined) {
      const digest = key === undefined ? undefined : (command.digest ?? undefined);
      this.dedupFor(topic.name).record(dedupClient, pid, digest === undefined ? { topic: topic.name, seq } : { topic: topic.name, seq, digest });
    }
    this.options.sink.message(topic.name, seq, entry);
    return { ok: true, seq };
  }

  private applyJoin(command: PresenceJoinCommand): ApplyResult {
    const topic = this.topicFor(command.topic);
    topic.presence.set(command.session, command.entry);
    this.emitPresence(topic, 'join', command.session, command.entry.client, command.entry.info);
    return { ok: true, seq: topic.seq };
  }

  private applyLeave(command: PresenceLeaveCommand): ApplyResult {
    const topic = this.topics.get(command.topic);
    const entry = topic?.presence.get(command.session);
    if (topic === undefined || entry === undefined) return { ok: true, seq: topic?.seq ?? 0 };
    topic.presence.delete(command.session);
    this.emitPresence(topic, 'leave', command.session, entry.client, undefined);
    return { ok: true, seq: topic.seq };
  }

  private emitPresence(topic: Topic, type: 'join' | 'leave', session: string, client: string, info: unknown): void {
    const message: PresenceMessage = { type, topic: topic.name, seq: topic.seq, session, client };
    if (info !== undefined) message.info = info;
    this.options.sink.presence(topic.name, encode(message));
  }

  /** The topic, created (with a fresh epoch) if it does not exist yet. */
  ensure(name: string): Topic {
    return this.topics.get(name) ?? this.topicFor(name);
  }

  /** The topic, created if new, and marked most recently used. */
  private topicFor(name: string): Topic {
    const topic = this.topics.get(name);
    if (topic !== undefined) {
      this.idle.touch(name);
      return topic;
    }
    const { lengthMax, bytesMax } = historyLimitsFor(this.options.limits, name);
    const created = new Topic(name, this.options.newEpoch(this.applying, this.applyingId ?? this.applying?.id), new History(lengthMax, bytesMax));
    this.topics.set(name, created);
    if (!this.options.isPinned(name)) this.idle.add(name, created);
    this.evict(created);
    return created;
  }

  /**
   * Everything replicas share, as plain data: each topic's epoch, seq, state,
   * presence and history (already encoded), and the publish-id table. A broker
   * joining the group starts from this.
   */
  snapshot(): TableSnapshot {
    const whole = this.snapshotOf([...this.topics.values()]);
    whole.dedup = [...this.dedups].map(([stream, table]) => [stream, table.snapshot()]);
    return whole;
  }

  private snapshotOf(topics: Topic[]): TableSnapshot {
    return {
      topics: topics.map((t) => ({
        name: t.name,
        epoch: t.epoch,
        seq: t.seq,
        // A copy: patches change the live state in place, and a snapshot may be sent again later.
        state: structuredClone(t.state),
        presence: [...t.presence],
        history: t.history.all().map((e) => [e.seq, e.encoded] as [number, Uint8Array]),
      })),
      dedup: [],
    };
  }

  /**
   * Part of the table: the topics `keep` selects, all of one ordering `stream`, and that
   * stream's publish ids of those topics — what a broker taking over a lightweight group, or one
   * topic, starts from.
   */
  snapshotPart(keep: (topic: string) => boolean, stream: number): TableSnapshot {
    const part = this.snapshotOf([...this.topics.values()].filter((t) => keep(t.name)));
    const table = this.dedups.get(stream);
    part.dedup = table === undefined ? [] : [[stream, table.snapshotWhere(keep)]];
    return part;
  }

  /**
   * Replaces the topics `replace` selects by the snapshot's (the subscribers of a replaced
   * topic stay: they are in the index, by name). With `wholeStreams` the snapshot's publish-id
   * table replaces this table's for its stream (only that one); otherwise its entries are added.
   */
  restorePart(snapshot: TableSnapshot, replace: (topic: string) => boolean, wholeStreams: boolean): void {
    this.dropWhere(replace);
    this.insertTopics(snapshot.topics);
    for (const [stream, data] of snapshot.dedup) {
      let table = this.dedups.get(stream);
      if (table === undefined || wholeStreams) this.dedups.set(stream, (table = new PublishDedup()));
      table.merge(data);
    }
  }

  /** Forgets a stream's publish ids (its group's state was lost and starts again). */
  forgetStream(stream: number): void {
    this.dedups.delete(stream);
  }

  /** Forgets the topics `drop` selects (a broker that no longer keeps them); no events. */
  dropWhere(drop: (topic: string) => boolean): void {
    for (const name of [...this.topics.keys()]) {
      if (!drop(name)) continue;
      this.topics.delete(name);
      this.idle.delete(name);
    }
  }

  restore(snapshot: TableSnapshot): void {
    this.topics.clear();
    this.idle.clear();
    this.insertTopics(snapshot.topics);
    this.dedups.clear();
    for (const [stream, data] of snapshot.dedup) {
      const table = new PublishDedup();
      table.restore(data);
      this.dedups.set(stream, table);
    }
  }

  private insertTopics(topics: TableSnapshot['topics']): void {
    for (const t of topics) {
      const { lengthMax, bytesMax } = historyLimitsFor(this.options.limits, t.name);
      const topic = new Topic(t.name, t.epoch, new History(lengthMax, bytesMax));
      topic.seq = t.seq;
      topic.stateHolder.prepare('state', t.state).commit();
      for (const [session, entry] of t.presence) topic.presence.set(session, entry);
      for (const [seq, encoded] of t.history) topic.history.push(HistoryEntry.loaded(seq, encoded));
      this.topics.set(t.name, topic);
      if (!this.options.isPinned(t.name)) this.idle.set(t.name, topic);
    }
    for (const t of topics) this.options.sink.loaded?.(t.name);
  }

  /** Drops presence entries for which `gone(session)` holds (their broker left the view), as leave events. */
  dropPresence(gone: (session: string, entry: PresenceEntry) => boolean): void {
    for (const topic of this.topics.values()) {
      for (const [session, entry] of [...topic.presence]) {
        if (!gone(session, entry)) continue;
        topic.presence.delete(session);
        this.emitPresence(topic, 'leave', session, entry.client, undefined);
      }
    }
  }

  /** A topic gained its first local subscriber: it may not be dropped. */
  pin(name: string): void {
    this.idle.delete(name);
  }

  /** A topic lost its last local subscriber: it may be dropped, least recently used first. */
  unpin(name: string): void {
    const topic = this.topics.get(name);
    if (topic === undefined || this.options.isPinned(name)) return;
    this.idle.add(name, topic);
  }

  /**
   * Drops least recently used idle topics while over `topicsMax`. Only idle
   * topics are candidates, so a head of long-lived subscribed topics cannot
   * stop eviction; a topic whose presence set is not empty (members on other
   * brokers, in the mesh) is passed over, a bounded number of times per call.
   * If every topic is pinned the table runs over the limit: pinned topics are
   * bounded by connections × subscriptions.
   */
  private evict(created: Topic): void {
    let skips = 16;
    while (this.topics.size > this.options.limits.topicsMax) {
      const oldest = this.idle.oldest();
      if (oldest === undefined) return;
      const { key: name, value: topic } = oldest;
      if (topic === created || topic.presence.size > 0) {
        if (--skips === 0 || this.idle.size === 1) return;
        this.idle.touch(name);
        continue;
      }
      this.idle.delete(name);
      this.topics.delete(name);
      this.evictedTotal++;
    }
  }
}
