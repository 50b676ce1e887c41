/**
 * Taking a stream over: a member that multicasts an abcast with `takeOver` sequences its stream
 * after that message, for the rest of the view. A stream sequenced where its messages come from
 * saves each of them the hop to a sequencer elsewhere (the mesh moves a group's stream to the
 * broker that takes most of its publishes; docs/core.md, "Taking a stream over").
 *
 * The take-over is an abcast like any other, so every member delivers it at the same position:
 * - the sequencer that orders it (S) sequences nothing more on the stream in this view (`handedOff`);
 *   requests it admitted behind it in the same pass are dropped, and handed again by their origins;
 * - everything S sequenced before it is delivered before it (S's channel is FIFO), so at its
 *   delivery every member knows the stream's whole order so far; each member then takes the new
 *   sequencer (N, the take-over's origin) for the stream, and hands its own requests on the stream
 *   not yet delivered to N, in their order — exactly those S dropped or never got;
 * - N counts on from the take-over's position, from the lanes and audience delivered so far
 *   (`AbcastLanes.resume`, `StreamAudiences.resume`). Requests that reach N before it delivered its
 *   own take-over wait for it (`early`), so a member that delivered it sooner loses no time;
 * - a view change puts every stream back where `sequencerOf` places it (the flush delivers the
 *   same messages everywhere; origins hand their pending requests to the new view's sequencers).
 * A take-over sequenced by its own origin (it sequenced the stream already) changes nothing.
 */
import type { MemberId } from './log.js';
import type { DataMessage, OrderRequest } from './messages.js';

export interface TakeoversHost {
  readonly id: MemberId;
  readonly lanes: { resume(stream: number, position: number): void };
  readonly audiences: { resume(stream: number): void };
  readonly outgoing: { resend(stream: number): void; takingOver(stream: number): boolean };
  onOrderRequest(r: OrderRequest): void;
  /** Whether `id` is a member of the installed view. */
  isMember(id: MemberId): boolean;
  /** Where the view places the stream's sequencer (`MemberOptions.sequencerOf`). */
  placeOf(stream: number): MemberId;
  /** A payload's size in bytes (`MemberOptions.sizeOf`; 0 without it). */
  payloadBytes(payload: unknown): number;
}

/**
 * Requests kept at most while waiting for an own take-over to be delivered, and their payload
 * bytes at most. More are not kept: their origins hand them again (outgoing.ts `retry`).
 */
export const earlyMax = 10_000;
export const earlyBytesMax = 64 * 1024 * 1024;

export class StreamTakeovers {
  /** Per stream, who sequences it after the take-overs delivered in this view. */
  private readonly moved = new Map<number, MemberId>();
  /** Per stream, where the view places its sequencer (computed once a view: every abcast asks). */
  private readonly placed = new Map<number, MemberId>();
  /** Streams this member sequenced a take-over of, to another member, in this view. */
  private readonly handedOff = new Set<number>();
  /** Requests that reached this member before it delivered its own take-over of their stream, by key (a retry replaces). */
  private early = new Map<string, { request: OrderRequest; bytes: number }>();
  private earlyBytes = 0;
  /** Streams whose take-over was delivered in the current delivery pass (`afterDeliveries`). */
  private due: number[] = [];

  constructor(private readonly host: TakeoversHost) {}

  /** The stream's sequencer now: after the take-overs delivered in this view, or where the view places it. */
  sequencerOf(stream: number): MemberId {
    const moved = this.moved.get(stream);
    if (moved !== undefined) return moved;
    let placed = this.placed.get(stream);
    if (placed === undefined) this.placed.set(stream, (placed = this.host.placeOf(stream)));
    return placed;
  }

  /** May this member, the stream's sequencer, sequence a request on it now? */
  sequencing(stream: number): boolean {
    return !this.handedOff.has(stream);
  }

  /** A request sequenced here: a take-over by another member ends this member's sequencing of the stream. */
  sequenced(request: OrderRequest): boolean {
    if (request.takeOver !== true || request.origin === this.host.id) return false;
    this.handedOff.add(request.stream);
    return true;
  }

  /** A request for a stream this member does not sequence: kept if this member is taking it over. */
  notMine(r: OrderRequest): void {
    if (!this.host.outgoing.takingOver(r.stream)) return;
    const bytes = this.host.payloadBytes(r.payload);
    const kept = this.early.get(r.key);
    const after = this.earlyBytes + bytes - (kept?.bytes ?? 0);
    if ((kept === undefined && this.early.size >= earlyMax) || after > earlyBytesMax) return;
    this.early.set(r.key, { request: r, bytes });
    this.earlyBytes = after;
  }

  /** Requests waiting for this member's take-over, and their payload bytes (for tests and diagnostics). */
  get waiting(): { requests: number; bytes: number } {
    return { requests: this.early.size, bytes: this.earlyBytes };
  }

  /**
   * A message delivered here (once). The stream's new sequencer counts from here on at once, so
   * the rest of this delivery pass follows it; what it sends (own requests handed again, requests
   * that waited for it) goes out after the pass (`afterDeliveries`), not from inside it.
   */
  delivered(m: DataMessage): void {
    if (m.takeOver !== true || m.stream === undefined || m.streamPos === undefined || m.sender === m.origin) return;
    // Requests come only from their origins (member.ts), so this is a member; checked all the same.
    if (!this.host.isMember(m.origin)) return;
    const stream = m.stream;
    this.moved.set(stream, m.origin);
    this.handedOff.delete(stream);
    if (m.origin === this.host.id) {
      this.host.lanes.resume(stream, m.streamPos);
      this.host.audiences.resume(stream);
    }
    this.due.push(stream);
  }

  /** After a delivery pass: own requests on streams taken over go to their new sequencer; a new sequencer takes the requests that waited for it. */
  afterDeliveries(): void {
    if (this.due.length === 0) return;
    const due = this.due;
    this.due = [];
    for (const stream of due) {
      const waiting: OrderRequest[] = [];
      for (const [key, { request, bytes }] of this.early) {
        if (request.stream !== stream) continue;
        waiting.push(request);
        this.early.delete(key);
        this.earlyBytes -= bytes;
      }
      this.host.outgoing.resend(stream);
      if (this.moved.get(stream) === this.host.id) for (const r of waiting) this.host.onOrderRequest(r);
    }
  }

  /** A new view: every stream is placed by `sequencerOf` again. */
  onInstall(): void {
    this.moved.clear();
    this.placed.clear();
    this.handedOff.clear();
    this.early.clear();
    this.earlyBytes = 0;
    this.due = [];
  }
}
