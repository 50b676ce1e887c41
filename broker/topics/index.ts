/**
 * broker/topics — topic state, history, presence, subscribe-with-state and
 * resume, for the subscribers of this broker.
 *
 * Contract: every change to a topic is a command applied by TopicTable in the
 * order its CommandStream decides (stream.ts is the seam where the mesh's
 * lightweight-group streams plug in; on one broker LocalStream sequences).
 * Invariants: a topic's seqs are 1, 2, 3 … with no gap; a subscriber gets the
 * snapshot at s and then exactly s+1, s+2 …; a publish id is applied once.
 */
export * from './commands.js';
export * from './config.js';
export * from './history.js';
export * from './stream.js';
export * from './subscriber-index.js';
export * from './topic.js';
export * from './topic-table.js';
export * from './topics.js';
export * from './wire.js';
export * from './rooms.js';
export * from './sys.js';
