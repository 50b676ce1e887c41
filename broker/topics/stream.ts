/**
 * The seam between the topic layer and whatever orders its commands.
 *
 * A `CommandStream` takes a command from this broker's edge, puts it into one
 * total order with every other command of its stream, and has each replica
 * apply it (TopicTable.apply) in that order; `done` runs at the submitting
 * broker once the command is applied there — in the mesh, once it is stable
 * at the stream's owners, so a client is never told of a seq a failover could
 * take back.
 *
 * On one broker, `LocalStream` is the sequencer: it stamps and applies at once.
 * The mesh replaces it with a stream per lightweight group, fed by the core
 * group's ordered, safe delivery.
 */
import type { ApplyResult, TopicCommand, UnstampedCommand } from './commands.js';

export interface CommandStream {
  submit(command: UnstampedCommand, done: (result: ApplyResult) => void): void;
}

export interface CommandApplier {
  apply(command: TopicCommand): ApplyResult;
}

export class LocalStream implements CommandStream {
  constructor(
    private readonly applier: CommandApplier,
    private readonly now: () => number,
  ) {}

  submit(command: UnstampedCommand, done: (result: ApplyResult) => void): void {
    (command as TopicCommand).ts = this.now();
    done(this.applier.apply(command as TopicCommand));
  }
}
