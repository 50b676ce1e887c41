/**
 * Topic commands over the core group: the CommandStream of the mesh. A
 * command is multicast as a safe abcast on its lightweight group's stream, so
 * every broker applies the commands of a topic in one order, and the broker
 * that took it from its client answers only once the command is stable —
 * no client is ever told of a seq a failover could take back.
 *
 * This first mesh keeps every topic on every broker (each broker receives
 * every stream); lightweight groups give each stream its own sequencer, so
 * ordering load spreads over the brokers. Sending each stream only to its
 * group's members is the next step (lightweight-groups/ has the table).
 */
import { createHash } from 'node:crypto';
import { ErrorCode } from '../../client/protocol/index.js';
import type { Delivery, MessageKey, MulticastOptions } from '../core/index.js';
import type { ApplyResult, CommandStream, TopicCommand, TopicTable, UnstampedCommand } from '../topics/index.js';

export interface GroupSender {
  multicast(payload: unknown, options: MulticastOptions): MessageKey;
  /** Own multicasts waiting to go out (flow control holds them). */
  readonly outgoing: { readonly queuedCount: number };
}

/** Own multicasts waiting before new publishes are refused (the group is not keeping up). */
const backlogMax = 10_000;

export interface MeshStreamOptions {
  group: () => GroupSender | undefined;
  lwgOf: (topic: string) => number;
  now?: () => number;
}

export class MeshStream implements CommandStream {
  private table: TopicTable | undefined;
  private readonly pending = new Map<MessageKey, (result: ApplyResult) => void>();
  private readonly deferred: Array<{ command: UnstampedCommand; done: (result: ApplyResult) => void }> = [];
  /** Commands applied from the group, for the metrics. */
  appliedTotal = 0;

  constructor(private readonly options: MeshStreamOptions) {}

  bind(table: TopicTable): this {
    this.table = table;
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
    if (!presence && group.outgoing.queuedCount >= backlogMax) return done({ ok: false, code: ErrorCode.TooManyRequests, message: 'the mesh is not keeping up with publishes; retry later' });
    const stamped = { ...command, ts: (this.options.now ?? Date.now)() } as TopicCommand;
    const key = group.multicast({ command: stamped }, { order: 'total', safe: true, stream: this.options.lwgOf(command.topic) });
    this.pending.set(key, done);
  }

  /** A delivery from the core group: apply it, and answer if it came from here. */
  deliver(delivery: Delivery): void {
    const command = (delivery.payload as { command?: TopicCommand } | null)?.command;
    if (command === undefined || this.table === undefined) return;
    this.appliedTotal++;
    const result = this.table.apply({ ...command, id: delivery.key });
    const done = this.pending.get(delivery.key);
    if (done !== undefined) {
      this.pending.delete(delivery.key);
      done(result);
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
    for (const done of this.pending.values()) done({ ok: false, code: ErrorCode.NotReady, message });
    this.pending.clear();
  }
}

/** The epoch of a topic created by a command: from the command's unique stream id, so every replica agrees. */
export function epochFor(command: TopicCommand | undefined): string {
  const seed = command?.id ?? `${command?.topic ?? ''}|${command?.ts ?? Date.now()}`;
  return createHash('sha256').update(seed).digest('base64url').slice(0, 10);
}
