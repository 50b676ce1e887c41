/**
 * lightweight-groups — topics onto a few ordered streams. Pure logic with no
 * broker import: the stable topic → group hash, rendezvous choice of owners
 * and sequencer from a view, and the table of holders and wants changed only
 * by ordered control messages.
 *
 * Contract: given the same view and the same control messages in the same
 * order, every broker computes the same table.
 */
export { fnv1a32, lwgOf, rendezvousScore } from './hash.js';
export { ownersOf, brokerName } from './owners.js';
export { LwgTable, lwgConfigDefault, type LwgConfig, type LwgControl, type LwgInfo, type LwgSettled, type LwgTableSnapshot, type LwgWait } from './table.js';
