/**
 * Peer messages of the core group: one discriminated union, keyed by `kind`.
 * Every message carries `view`, the sender's current view id (0 before its
 * first install), so a receiver can tell stale, current and future traffic
 * apart. Messages to one destination in one turn travel as one `batch`.
 */
import type { MemberId, MessageKey, OrderFlavor, ViewRecord } from './log.js';

/** An abcast that brings its origin into (`add`) or out of (`remove`) its stream's audience (audience.ts). */
export type AudienceChange = 'add' | 'remove';

/** A multicast on a member's reliable FIFO channel of one view. */
export interface DataMessage {
  kind: 'data';
  view: number;
  /** Channel owner (for abcast: the stream's sequencer). */
  sender: MemberId;
  /** Position on the sender's channel in this view, from 1. */
  seq: number;
  order: OrderFlavor;
  safe: boolean;
  /** Original multicaster and its message key (equal to `sender` except for abcast). */
  origin: MemberId;
  key: MessageKey;
  /** Origin's count of its own multicasts (FIFO position for the checker). */
  originSeq: number;
  /** cbcast: the sender's vector of causal deliveries, itself included. */
  vt?: Record<MemberId, number>;
  /** abcast: stream and the sequencer's position in it. */
  stream?: number;
  streamPos?: number;
  /** abcast: the origin's count of its own abcasts on this stream (its FIFO position there). */
  streamSeq?: number;
  /** Elided abcast: indices (in the view) of the members its payload goes to (audience.ts). */
  audience?: number[];
  /** This copy carries no payload: its receiver is not in the audience. */
  stub?: true;
  /**
   * A stub's: the bytes of the payload it stands for (`MemberOptions.sizeOf` at its sender). Its
   * receiver counts them towards `ackBytes` as if the payload had come (heartbeats.ts): the audience
   * waits for this member's ack of a stub as for anyone's ack of the data.
   */
  size?: number;
  /** abcast: from here on, `origin` is in (or out of) the stream's audience. */
  audienceChange?: AudienceChange;
  /** abcast: after this message, `origin` sequences the stream in this view (member.ts, "Taking a stream over"). */
  takeOver?: true;
  payload: unknown;
}

/** An abcast or gbcast handed to the member that orders it (the stream's sequencer / the coordinator). */
export interface OrderRequest {
  kind: 'order-request';
  view: number;
  order: 'total' | 'group';
  stream: number;
  key: MessageKey;
  origin: MemberId;
  originSeq: number;
  /** abcast: the origin's count of its own abcasts on this stream; the sequencer keeps this order. */
  streamSeq: number;
  safe: boolean;
  /** abcast: the payload goes only to the stream's audience. */
  elide?: true;
  /** abcast: from this message on, the origin is in (or out of) the stream's audience. */
  audience?: AudienceChange;
  /** abcast: after this message, the origin sequences the stream in this view. */
  takeOver?: true;
  payload: unknown;
}

export interface Heartbeat {
  kind: 'hb';
  view: number;
  /**
   * Highest contiguous seq received from each sender's channel in `view`, in the order of the
   * view's members (positions, not ids: a heartbeat goes out every turn that received data).
   */
  acks: number[];
  /** Every member of the view has the sender's own channel up to here (its stability, announced). */
  stable?: number;
  /** The sender is frozen with no flush under way (its coordinator died, or it is cut off): coordinator, start one. */
  flushWanted?: boolean;
  /** Members the sender suspects; a coordinator suspected by a member it still hears drops that member. */
  suspects?: MemberId[];
  /** Star heartbeats: the sender lost its coordinator or waits for the receiver's stability — answer it directly. */
  reply?: true;
}

export interface JoinRequest {
  kind: 'join';
  view: number;
  /** The member asking to join (a forwarded request names it). */
  joiner: MemberId;
  /** The highest view id the joiner's process saw: a seed that founds a group goes above it (member.ts `found`). */
  seen?: number;
}

export interface LeaveNotice {
  kind: 'leave';
  view: number;
}

/** You are not a member of my view, which is newer than yours: stop, and join again. */
export interface ExcludedNotice {
  kind: 'excluded';
  view: number;
}

export interface FlushStart {
  kind: 'flush-start';
  view: number;
  /** Distinguishes a coordinator's attempts (and coordinators' attempts) at one view change. */
  attempt: number;
  /** Members asked to take part (the survivors, leavers included). */
  participants: MemberId[];
}

export interface FlushState {
  kind: 'flush-state';
  view: number;
  attempt: number;
  /** Highest contiguous seq received per sender in `view`. */
  received: Record<MemberId, number>;
  /** Highest channel seq delivered to the application per sender in `view`. */
  delivered: Record<MemberId, number>;
  /** Highest view id this member has seen proposed or installed (the next proposal goes above it). */
  maxViewSeen: number;
  /** Messages of `view` held: everything received that is not known stable-and-delivered everywhere. */
  held: DataMessage[];
  /** Order requests this member would like delivered (gbcasts it has pending). */
  groupRequests: OrderRequest[];
  /** The final this member holds for the next view (received, not yet delivered), if any; `union` left empty. */
  prepared?: FlushFinal;
  /** The coordinator that sent `prepared`: it holds that final too (it took its own as it sent it). */
  preparedBy?: MemberId;
}

/** Phase 1 of the install: deliver exactly these in the old view, then say done. */
export interface FlushFinal {
  kind: 'flush-final';
  view: number;
  attempt: number;
  /** Per sender, deliver its channel up to here; beyond it are orphans. */
  targets: Record<MemberId, number>;
  /** Messages some participant may lack, up to the targets. */
  union: DataMessage[];
  /**
   * `sender/seq` of the elided messages of the union whose payload no participant reported: every
   * member moving on delivers them as stubs, even one that took a late payload copy after it
   * reported, so that the members of their audience deliver alike. Kept when the final is adopted.
   */
  stubbed?: string[];
  /** gbcasts delivered after the old view's messages, in this order. */
  group: OrderRequest[];
  next: ViewRecord;
}

export interface FlushDone {
  kind: 'flush-done';
  view: number;
  attempt: number;
}

/** Phase 2: the new view. A joiner's copy carries the group state. */
export interface Install {
  kind: 'install';
  view: number;
  next: ViewRecord;
  /** For joiners only. */
  state?: { value: unknown };
  /** gbcast keys delivered at this view change (a joiner must not deliver them again). */
  groupKeys?: MessageKey[];
  /**
   * For joiners: per `origin|stream`, the highest abcast streamSeq delivered (where each origin's
   * FIFO order resumes). Present (perhaps empty) in every install the coordinator sends a joiner,
   * and only there: a joining member takes no install without it (member.ts).
   */
  lanes?: Array<[string, number]>;
  /** For joiners: each stream's audience (audience.ts). */
  audiences?: Array<[number, MemberId[]]>;
  /**
   * For a member of the old view that took no part in the round (it adopted a final another round
   * computed, whose next view lists this member): that final, union and all, so that the member
   * can take it now and move on with the others (participant.ts `onInstall`).
   */
  final?: FlushFinal;
}

/** A leaver's flush is done: it may stop. */
export interface LeaveDone {
  kind: 'leave-done';
  view: number;
}

export type PeerMessage =
  | DataMessage
  | OrderRequest
  | Heartbeat
  | JoinRequest
  | LeaveNotice
  | ExcludedNotice
  | FlushStart
  | FlushState
  | FlushFinal
  | FlushDone
  | Install
  | LeaveDone;

/** Consecutive stubs of one sender to one destination, as they travel (stub-runs.ts folds and expands them). */
export interface StubRun {
  kind: 'stubs';
  view: number;
  sender: MemberId;
  /** Channel position of the first stub; the others follow one by one. */
  seq: number;
  /** Origins, referred to by index. */
  origins: MemberId[];
  /** Audience stamps, referred to by index. */
  stamps: number[][];
  /** Per stub: safe (0/1), stream, streamPos, origin index, originSeq, streamSeq, stamp index. */
  at: number[];
  /** Per stub, its `size` — only in a run of stubs that each had one. */
  sizes?: number[];
}

/** What travels: consecutive stubs of one sender folded into runs (stub-runs.ts), expanded on arrival. */
export interface Batch {
  kind: 'batch';
  items: Array<PeerMessage | StubRun>;
}

export type WireMessage = PeerMessage | StubRun | Batch;
