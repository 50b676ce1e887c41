/**
 * Topic commands over the core group: the CommandStream of the mesh. A
 * command is multicast as a safe, elided abcast on its lightweight group's
 * stream: every broker that keeps the topic applies its commands in one
 * order, brokers that do not get an ordering stub (replicas.ts decides who
 * keeps what), and the broker that took it from its client answers only once
 * the command is stable — no client is ever told of a seq a failover could
 * take back. If this broker keeps the topic it answers from its own copy;
 * otherwise the group's server sends the result.
 *
 * Commands for one group taken in one pass (one `drain` of the node: the
 * runtime drains once per pass of the event loop) travel as one multicast,
 * `{ commands }`, up to `batchMax` commands or `batchBytesMax` bytes: one order
 * request, one sequenced message, one stub elsewhere, one round of
 * acknowledgements for all of them. On delivery the batch becomes one delivery
 * per command, keyed `<key>.<i>` — consecutive on the stream, as if multicast
 * one by one — so the replicas, loads and de-duplication see commands as they
 * always did. A pass with one command for a group sends it alone, `{ command }`.
 */
import { ErrorCode } from '../../client/protocol/index.js';
import type { Delivery, MessageKey, MulticastOptions } from '../core/index.js';
import type { ApplyResult, CommandStream, TopicCommand, TopicTable, UnstampedCommand } from '../topics/index.js';
import type { Replicas } from './replicas.js';
import { commandSize } from './sizes.js';
import { TakeoverPolicy, type TakeoverGroup, type TakeoverSettings } from './takeover-policy.js';

export interface GroupSender extends TakeoverGroup {
  multicast(payload: unknown, options: MulticastOptions): MessageKey;
}

/**
 * Own commands not answered yet (taken, queued, in flight) before new publishes are refused: the
 * group is not keeping up. Commands, not multicasts — a multicast carries up to `batchMax`.
 */
export const backlogMax = 20_000;
/** Commands in one multicast at most, and their payload bytes (estimated) at most. */
export const batchMax = 128;
export const batchBytesMax = 256 * 1024;
/** How long a command delivered here unapplied waits for the server's answer, ms. */
const answerWaitMs = 5_000;

export interface MeshStreamOptions {
  group: () => GroupSender | undefined;
  lwgOf: (topic: string) => number;
  /** The clock, ms: command timestamps and answer deadlines. */
  now: () => number;
  /** This broker's member id (whose deliveries are its own). */
  self: () => string | undefined;
  /** When this broker takes a stream over (takeover-policy.ts; the defaults unless given). */
  takeover?: Partial<TakeoverSettings>;
}

export class MeshStream implements CommandStream {
  private replicas: Replicas | undefined;
  private readonly pending = new Map<MessageKey, (result: ApplyResult) => void>();
  /** Own commands delivered here without being applied, by when: the server's answer is awaited. */
  private readonly awaiting = new Map<MessageKey, number>();
  private readonly deferred: Array<{ command: UnstampedCommand; done: (result: ApplyResult) => void }> = [];
  /** Commands applied from the group, for the metrics. */
  appliedTotal = 0;
  /** Whether this broker should sequence a group's stream itself (takeover-policy.ts). */
  readonly takeovers: TakeoverPolicy;
  /** Commands taken in this pass, per group, not multicast yet (`flush`). */
  private readonly batches = new Map<number, Array<{ command: TopicCommand; done: (result: ApplyResult) => void; bytes: number }>>();
  private batchedCount = 0;
  /** Own batches multicast and not delivered yet: key → commands (a stub of one answers each). */
  private readonly batchSizes = new Map<MessageKey, number>();

  constructor(private readonly options: MeshStreamOptions) {
    this.takeovers = new TakeoverPolicy(options.takeover);
  }

  bind(table: TopicTable, replicas: Replicas): this {
    this.replicas = replicas.bind(table);
    return this;
  }

  submit(command: UnstampedCommand, done: (result: ApplyResult) => void): void {
    const group = this.options.group();
    const presence = command.kind !== 'publish';
    if (group === undefined) {
      // A presence change must not be lost (a leave never applied leaves a ghost everywhere):
      // it waits for the broker to be back in a primary view. A publish is refused; the client
      // takes it elsewhere.
      if (presence) return void this.deferPresence(command, done);
      return done({ ok: false, code: ErrorCode.NotReady, message: 'this broker is not in the group now; try another broker' });
    }
    if (!presence && this.pending.size + this.batchedCount >= backlogMax) return done({ ok: false, code: ErrorCode.TooManyRequests, message: 'the mesh is not keeping up with publishes; retry later' });
    const stamped = stampedCommand(command, this.options.now());
    const stream = this.options.lwgOf(command.topic);
    let batch = this.batches.get(stream);
    if (batch === undefined) this.batches.set(stream, (batch = []));
    batch.push({ command: stamped, done, bytes: commandBytes(stamped) });
    this.batchedCount++;
  }

  /** Multicasts the commands taken since the last call, one multicast per group (the node calls it before every drain). */
  flush(): void {
    if (this.batches.size === 0) return;
    const batches = [...this.batches];
    this.batches.clear();
    this.batchedCount = 0;
    const group = this.options.group();
    for (const [stream, batch] of batches) {
      if (group === undefined) {
        // Out of the primary view since they were taken (within this pass): as `submit` would have.
        for (const { command, done } of batch) this.submit(command, done);
        continue;
      }
      for (let from = 0; from < batch.length; ) {
        let to = from + 1;
        for (let bytes = batch[from]!.bytes; to < batch.length && to - from < batchMax && bytes + batch[to]!.bytes <= batchBytesMax; to++) bytes += batch[to]!.bytes;
        const part = batch.slice(from, to);
        const options: MulticastOptions = { order: 'total', safe: true, elide: true, stream };
        if (part.length === 1) this.pending.set(group.multicast({ command: part[0]!.command }, options), part[0]!.done);
        else {
          const key = group.multicast({ commands: part.map((p) => p.command) }, options);
          this.batchSizes.set(key, part.length);
          part.forEach((p, i) => this.pending.set(commandKey(key, i), p.done));
        }
        from = to;
      }
    }
  }

  /** A delivery from the core group: the replicas apply, buffer or drop it — a batch command by command. */
  deliver(delivery: Delivery): void {
    const payload = delivery.payload as { command?: TopicCommand; commands?: unknown } | null;
    // Every delivery of a group's stream counts: the position a copy is complete to. Only topic
    // commands are elided, so a stub is one.
    const command = delivery.stub === true || payload?.command !== undefined || payload?.commands !== undefined;
    if (delivery.stream !== undefined) this.replicas?.table.advance(delivery.stream, command);
    if (delivery.stream !== undefined) this.takeovers.delivered(delivery.stream, delivery.origin === this.options.self());
    if (delivery.stream !== undefined && command) this.countTraffic(delivery.stream, delivery, payload);
    if (payload?.command !== undefined) this.appliedTotal++;
    const commands = payload?.commands;
    if (Array.isArray(commands)) {
      this.batchSizes.delete(delivery.key);
      this.appliedTotal += commands.length;
      commands.forEach((command, i) => this.replicas?.deliver({ ...delivery, key: commandKey(delivery.key, i), payload: { command } }));
      return;
    }
    // A stub of an own batch: each of its commands was delivered here unapplied.
    const own = delivery.stub === true ? this.batchSizes.get(delivery.key) : undefined;
    if (own !== undefined) {
      this.batchSizes.delete(delivery.key);
      for (let i = 0; i < own; i++) this.replicas?.deliver({ ...delivery, key: commandKey(delivery.key, i) });
      return;
    }
    this.replicas?.deliver(delivery);
  }

  /**
   * A delivered multicast of topic commands, for the claim policy: its bytes, and how many of them
   * are this broker's traffic — all when taken here, else those of its commands whose topics are
   * wanted here (none of a stub: a broker that wants a topic of the group is in its audience).
   * Bytes, as the core's `sizeOf` counts them, because a stub says how many bytes it stands for and
   * not how many commands: every broker weighs every multicast alike, a batch by what it carries.
   */
  private countTraffic(stream: number, delivery: Delivery, payload: { command?: TopicCommand; commands?: unknown } | null): void {
    const claims = this.replicas?.claims;
    if (claims === undefined) return;
    const mine = delivery.origin === this.options.self();
    if (delivery.stub === true) return claims.delivered(stream, delivery.size ?? 0, mine ? (delivery.size ?? 0) : 0);
    // What the sender's `sizeOf` (payloadSize) sums, command by command. Another broker's payload is
    // not checked on the way in: a command of a shape it should not have is wanted nowhere.
    const commands: unknown[] = Array.isArray(payload?.commands) ? payload.commands : [payload?.command];
    let bytes = 0;
    let own = 0;
    for (const c of commands) {
      const n = commandSize(c);
      bytes += n;
      const topic = (c as { topic?: unknown } | null | undefined)?.topic;
      if (mine || (typeof topic === 'string' && this.replicas!.wants(topic))) own += n;
    }
    claims.delivered(stream, bytes, own);
  }

  /** A command submitted here was applied (here, or by the server): answer its client, once. */
  answer(key: MessageKey, result: ApplyResult): void {
    const done = this.pending.get(key);
    if (done === undefined) return;
    this.pending.delete(key);
    this.awaiting.delete(key);
    done(result);
  }

  /** A command submitted here was delivered here unapplied: the server's answer should follow. */
  delivered(key: MessageKey): void {
    if (this.pending.has(key)) this.awaiting.set(key, this.options.now() + answerWaitMs);
  }

  /** Answers that did not come (their server died with them): the client publishes again (de-duplicated). */
  tick(now: number): void {
    this.takeovers.tick(now, this.options.group());
    for (const [key, until] of this.awaiting) {
      if (until > now) continue;
      this.answer(key, { ok: false, code: ErrorCode.NotReady, message: 'no answer from the replicas of this topic in time; publish again (it is not applied twice)' });
    }
  }

  private deferPresence(command: UnstampedCommand, done: (result: ApplyResult) => void): void {
    this.deferred.push({ command, done });
    if (this.deferred.length > 100_000) this.deferred.shift();
  }

  /** Back in a primary view: the presence changes that waited go out, in order. */
  resume(): void {
    for (const { command, done } of this.deferred.splice(0)) this.submit(command, done);
  }

  /** The member stopped (excluded, or left): what it had in flight will never be answered by it. */
  failPending(message: string): void {
    const batched = [...this.batches.values()].flat();
    this.batches.clear();
    this.batchedCount = 0;
    for (const { done } of batched) done({ ok: false, code: ErrorCode.NotReady, message });
    for (const done of this.pending.values()) done({ ok: false, code: ErrorCode.NotReady, message });
    this.pending.clear();
    this.awaiting.clear();
    this.batchSizes.clear();
  }
}

/** The key of command `i` of a batch multicast as `key`: what the replicas, answers and de-duplication know it by. */
export function commandKey(key: MessageKey, i: number): MessageKey {
  return `${key}.${i}`;
}

/** A command's size for batching, estimated (the payload dominates; strings and bytes count exactly). */
function commandBytes(command: TopicCommand): number {
  return commandSize(command, 4096);
}


/**
 * The command stamped with `ts`, without an event's decoded value when it has its `encoded` one (no
 * copy needs the value), and without its absent fields, so that none crosses a link as nil — a new
 * object, built field by field: `delete` would turn it into a slow dictionary-mode object for
 * every later read.
 */
function stampedCommand(command: UnstampedCommand, ts: number): TopicCommand {
  const out: Record<string, unknown> = {};
  const dropData = command.kind === 'publish' && command.msgKind === 'event' && command.encoded !== undefined;
  for (const k in command) {
    const v = (command as Record<string, unknown>)[k];
    if (v !== undefined && !(dropData && k === 'data')) out[k] = v;
  }
  out['ts'] = ts;
  return out as unknown as TopicCommand;
}
