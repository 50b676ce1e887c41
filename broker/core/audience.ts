/**
 * Stream audiences: the members that receive an abcast stream's payloads.
 * A lightweight group's traffic should reach only the brokers that want it,
 * but the core's channels number every multicast for every member (that is
 * what makes a flush cheap to reason about). So an *elided* abcast still
 * travels to every member, with its payload only to the stream's audience;
 * the others get a stub — the same key, position and flags, no payload —
 * which keeps their channels gap-free and their deliveries in order.
 *
 * The audience changes only by abcasts on the stream itself (`audience:
 * 'add' | 'remove'`, about their origin), so every member agrees at which
 * position of the stream a member came in or went out:
 * - the sequencer applies a change when it sequences it, and stamps each
 *   elided message with the audience at its position (member indices in the
 *   view), so retransmissions and flush relays strip the same payloads;
 * - every member applies the change when it delivers it (`committed`), and at
 *   a view change the sequencers start again from the committed audiences,
 *   pruned to the new view (what was sequenced and not delivered was dropped
 *   with the old view, and will be sequenced again).
 */
import type { MemberId } from './log.js';
import type { AudienceChange, DataMessage, OrderRequest, PeerMessage } from './messages.js';

export class StreamAudiences {
  /** Per stream, the audience after every change delivered here (the same at every member). */
  private readonly committed = new Map<number, Set<MemberId>>();
  /** At a sequencer, in this view: the audience after every change sequenced here. */
  private readonly sequencing = new Map<number, Set<MemberId>>();

  /** The stamp for an elided message sequenced now (after applying its own change, if any). */
  sequenced(request: OrderRequest, members: readonly MemberId[]): number[] | undefined {
    if (request.audience !== undefined) change(this.sequencing, request.stream, request.origin, request.audience);
    if (request.elide !== true) return undefined;
    const audience = this.sequencing.get(request.stream);
    const stamp: number[] = [];
    if (audience !== undefined) members.forEach((m, i) => audience.has(m) && stamp.push(i));
    return stamp;
  }

  delivered(m: DataMessage): void {
    if (m.audienceChange !== undefined && m.stream !== undefined) change(this.committed, m.stream, m.origin, m.audienceChange);
  }

  /** This member takes over sequencing `stream`: from the audience delivered so far (everything sequenced before is). */
  resume(stream: number): void {
    const audience = this.committed.get(stream);
    if (audience === undefined) this.sequencing.delete(stream);
    else this.sequencing.set(stream, new Set(audience));
  }

  /** A new view: members gone leave every audience; sequencing starts from what was delivered. */
  onInstall(members: readonly MemberId[]): void {
    this.sequencing.clear();
    for (const [stream, audience] of this.committed) {
      for (const m of [...audience]) if (!members.includes(m)) audience.delete(m);
      if (audience.size === 0) this.committed.delete(stream);
      else this.sequencing.set(stream, new Set(audience));
    }
  }

  /** For diagnostics and tests. */
  of(stream: number): MemberId[] {
    return [...(this.committed.get(stream) ?? [])];
  }

  /** Handed to joiners in their install (with the lanes). */
  snapshot(): Array<[number, MemberId[]]> {
    return [...this.committed].map(([stream, audience]) => [stream, [...audience]]);
  }

  restore(data: ReadonlyArray<[number, MemberId[]]>): void {
    this.committed.clear();
    for (const [stream, audience] of data) this.committed.set(stream, new Set(audience));
  }
}

function change(map: Map<number, Set<MemberId>>, stream: number, member: MemberId, how: AudienceChange): void {
  let audience = map.get(stream);
  if (audience === undefined) map.set(stream, (audience = new Set()));
  if (how === 'add') audience.add(member);
  else audience.delete(member);
}

/** Is `member` (at `index` in the message's view) one the payload goes to? Messages without a stamp go to all. */
export function inAudience(m: DataMessage, index: number): boolean {
  return m.audience === undefined || m.audience.includes(index);
}

/**
 * The copy of `m` for a member outside its audience: no payload. `Object.assign`, not a rest and
 * a spread: V8 takes a spread copy that gains a property (`stub`) off its fast path — 4.5 µs a
 * stub against 0.3 (`node bench/stubs.mjs --bare`, against `--spread`), for every member outside the audience of
 * every message.
 */
export function stubOf(m: DataMessage): DataMessage {
  if (m.stub === true) return m;
  return Object.assign({}, m, stubFields);
}

const stubFields = { payload: null, stub: true } as const;

/**
 * The stub its sender sends: it says how many bytes of payload it stands for (messages.ts `size`),
 * so that its receiver acknowledges a bulk of data elsewhere as promptly as the data's receivers.
 */
function sentStubOf(m: DataMessage, sizeOf: (payload: unknown) => number): DataMessage {
  if (m.stub === true) return m;
  const size = sizeOf(m.payload);
  // Only a count travels (a receiver drops a stub with anything else as malformed).
  if (!Number.isSafeInteger(size) || size < 0) return stubOf(m);
  return Object.assign({}, m, { payload: null, stub: true, size });
}

/**
 * The copy of a peer message for `to`: data and flush finals lose the payloads
 * `to` is not in the audience of (`indexOf` finds a member's index in the view). A data message's
 * stub says its payload's size when `sizeOf` is given.
 */
export function copyFor(message: PeerMessage, toIndex: number, sizeOf?: (payload: unknown) => number): PeerMessage {
  if (message.kind === 'data') return inAudience(message, toIndex) ? message : sizeOf === undefined ? stubOf(message) : sentStubOf(message, sizeOf);
  if (message.kind === 'flush-final' && message.union.some((m) => !inAudience(m, toIndex))) {
    return { ...message, union: message.union.map((m) => (inAudience(m, toIndex) ? m : stubOf(m))) };
  }
  return message;
}
