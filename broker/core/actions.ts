/**
 * What the core asks of its runtime, drained in order after each input.
 * The runtime (broker/main over TCP, or test/sim) performs them; the core
 * never does I/O itself.
 */
import type { MemberId, MessageKey, OrderFlavor, ViewRecord } from './log.js';
import type { WireMessage } from './messages.js';

/** A multicast delivered to the application. */
export interface Delivery {
  key: MessageKey;
  origin: MemberId;
  order: OrderFlavor;
  safe: boolean;
  stream?: number;
  payload: unknown;
  /** An elided abcast delivered without its payload (this member is not in the stream's audience). */
  stub?: true;
  /** A stub's: the bytes of the payload it stands for (its sender's `sizeOf`). */
  size?: number;
  /** The view it was delivered in. */
  view: number;
}

export type Action =
  /** Send a peer message (to a member id, or to a contact address while joining). */
  | { kind: 'send'; to: string; message: WireMessage }
  | { kind: 'deliver'; delivery: Delivery }
  /** A new view is installed; `joined` and `left` are relative to the previous one. */
  | { kind: 'view'; view: ViewRecord; joined: MemberId[]; left: MemberId[] }
  /** New multicasts wait from here (a flush runs) … */
  | { kind: 'block' }
  /** … until here. */
  | { kind: 'unblock' }
  /** Produce a snapshot of the application state now and hand it to `stateReady` (a member is joining). */
  | { kind: 'get-state' }
  /** A joiner's starting state, before its first view. */
  | { kind: 'set-state'; state: unknown }
  /** Inside (true) or outside (false) a primary view: outside, serve nothing. */
  | { kind: 'primary'; primary: boolean }
  /** This member was excluded (or finished leaving): stop; a new incarnation may join. */
  | { kind: 'stopped'; reason: 'excluded' | 'left' };
