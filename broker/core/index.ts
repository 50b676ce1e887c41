/**
 * broker/core — the virtually synchronous core group, as a deterministic
 * state machine with no I/O (etcd raft's shape): `Member` takes peer
 * messages, ticks and application requests, and returns actions to perform.
 *
 * Contract: members install agreed views, oldest first, only in a primary
 * partition; members that move together from view v to v+1 deliver the same
 * messages in v; fifo, causal, total (per stream) and group order hold, and a
 * safe message delivered anywhere is delivered by every survivor.
 * Invariants are checked by test/sim's checker over seeded fault runs.
 */
export { Member } from './member.js';
export { assert, InvariantError } from './assert.js';
export { CoreFigures } from './figures.js';
export type { MemberOptions, MulticastOptions } from './options.js';
export type { Action, Delivery } from './actions.js';
export { coreConfigDefault, type CoreConfig } from './config.js';
export type { LogEntry, MemberId, MessageKey, OrderFlavor, ViewRecord } from './log.js';
export type { PeerMessage, WireMessage } from './messages.js';
export { isPrimarySuccessor, sequencerOf, memberName } from './view.js';
