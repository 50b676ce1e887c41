/**
 * What a member records of itself, for the checker (test/sim/checker.ts) and
 * for the multi-process tests: the logs PROPERTIES.md speaks of. The core
 * appends entries through its `onLog` hook in the order things happen at
 * that member; it never reads them back.
 */

/** `name#incarnation`; a restarted or excluded broker comes back with a new incarnation. */
export type MemberId = string;

/** Globally unique message id: `${origin}/${n}`, n counting the origin's multicasts from 1. */
export type MessageKey = string;

export type OrderFlavor = 'fifo' | 'causal' | 'total' | 'group';

export interface ViewRecord {
  id: number;
  /** Oldest first; members[0] is the coordinator. */
  members: MemberId[];
  /** Installed views are always primary in this design (a minority never installs one); kept for the checker. */
  primary: boolean;
}

export type LogEntry =
  /** `founded`: the first view of a group founded anew (the seed's founding rule), not a successor of an earlier view. */
  | { kind: 'install'; member: MemberId; view: ViewRecord; founded?: true }
  /**
   * `elide` and `audience`: the abcast's own options (an elided payload; a change of its origin's place in the
   * stream's audience), so that the checker recomputes every elided message's audience from the deliveries.
   */
  | { kind: 'send'; member: MemberId; msg: MessageKey; view: number; order: OrderFlavor; safe: boolean; stream?: number; elide?: true; audience?: 'add' | 'remove' }
  | {
      kind: 'deliver';
      member: MemberId;
      msg: MessageKey;
      /** The view the member was in when it delivered. */
      view: number;
      order: OrderFlavor;
      safe: boolean;
      /** Who multicast it, and that sender's count of its own multicasts (FIFO position). */
      sender: MemberId;
      senderSeq: number;
      /** cbcast: the vector timestamp carried (for debugging; the checker derives causality itself). */
      vt?: Record<MemberId, number>;
      /** abcast: the stream and the position the sequencer gave it. */
      stream?: number;
      streamPos?: number;
      /** Elided abcast: whether this member was in the stream's audience for it … */
      audience?: boolean;
      /** … and whether what it delivered was a stub (no payload). */
      stub?: true;
    }
  /**
   * The application's state digest (appended by the runtime, not the core): what the application holds
   * when it sees a view installed (`at: 'install'`, `view` the new view; a joiner's is the state it was
   * handed), and at the end of a run (`at: 'end'`, `view` the current one). The application computes it
   * from the deliveries it was handed, so the checker compares states the core did not describe itself.
   */
  | { kind: 'state'; member: MemberId; view: number; at: 'install' | 'end'; digest: string }
  /** The member's process stopped (crash); appended by the simulator. */
  | { kind: 'crash'; member: MemberId }
  /** The member learned it was excluded from the group and stopped; it may come back under a new incarnation. */
  | { kind: 'excluded'; member: MemberId }
  /** The member knew itself to be outside any primary view (minority) from here on, until its next install. */
  | { kind: 'non-primary'; member: MemberId };
