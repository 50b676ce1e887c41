/**
 * A member's own multicasts on their way out: numbered by origin, queued while
 * the member is blocked or its window is full, then sent by flavor — fifo and
 * causal on the member's own channel, abcast and gbcast handed to the member
 * that orders them (stream sequencer, coordinator) and kept until delivered, so
 * that a view change that lost them does not lose them for good.
 */
import type { MemberBasics } from './host.js';
import type { LogEntry, MemberId, MessageKey, OrderFlavor } from './log.js';
import type { AudienceChange, DataMessage, OrderRequest, PeerMessage } from './messages.js';

export interface OutgoingHost extends MemberBasics {
  /** A member, not blocked, not frozen: it may send now. */
  canSend(): boolean;
  log(entry: LogEntry): void;
  send(to: MemberId, message: PeerMessage): void;
  multicastData(fields: Omit<DataMessage, 'kind' | 'view' | 'sender' | 'seq'>): void;
  onOrderRequest(request: OrderRequest): void;
  coordinatorOf(): MemberId;
  sequencerOf(stream: number): MemberId;
}

/** A request handed to its orderer and not delivered yet. */
interface Pending {
  request: OrderRequest;
  sentAt: number;
  firstAt: number;
  sends: number;
  sequenced?: true;
}

interface Queued {
  key: MessageKey;
  originSeq: number;
  order: OrderFlavor;
  safe: boolean;
  stream: number;
  elide: boolean;
  audience: AudienceChange | undefined;
  takeOver: boolean;
  payload: unknown;
}

export class Outgoing {
  private originSeqLast = 0;
  /** Own causal multicasts in the current view (the own entry of their vector timestamps). */
  private causalSent = 0;
  private readonly queued: Queued[] = [];
  /** Own abcasts per stream so far (their FIFO position on the stream). */
  private readonly streamSeqs = new Map<number, number>();
  /** Own abcasts and gbcasts not yet delivered. */
  readonly pending = new Map<MessageKey, Pending>();

  constructor(private readonly host: OutgoingHost) {}

  get queuedCount(): number {
    return this.queued.length;
  }

  /** Numbers a multicast and sends it as soon as it may go; returns its key (`takeOver` only on an abcast: member.ts). */
  add(payload: unknown, order: OrderFlavor, safe: boolean, stream: number, elide = false, audience?: AudienceChange, takeOver = false): MessageKey {
    const originSeq = ++this.originSeqLast;
    const key = `${this.host.id}/${originSeq}`;
    this.queued.push({ key, originSeq, order, safe, stream, elide, audience, takeOver, payload });
    this.sendQueued();
    return key;
  }

  /** Sends what waits, in order, as far as blocking and the window allow. */
  sendQueued(): void {
    const h = this.host;
    while (this.queued.length > 0) {
      if (!h.canSend()) return;
      const view = h.view!;
      const next = this.queued[0]!;
      // Flow control: own fifo/causal messages not yet stable, or own abcasts/gbcasts not yet delivered.
      if ((next.order === 'fifo' || next.order === 'causal') && h.channel.unstableOwn() >= h.config.windowMax) return;
      if ((next.order === 'total' || next.order === 'group') && this.pending.size >= h.config.windowMax) return;
      this.queued.shift();
      h.log({ kind: 'send', member: h.id, msg: next.key, view: view.id, order: next.order, safe: next.safe, ...(next.order === 'total' ? { stream: next.stream, ...(next.elide ? { elide: true as const } : {}), ...(next.audience ? { audience: next.audience } : {}) } : {}) });
      if (next.order === 'fifo' || next.order === 'causal') {
        const vt = next.order === 'causal' ? h.ordering.vectorFor(h.id, ++this.causalSent) : undefined;
        h.multicastData({ order: next.order, safe: next.safe, origin: h.id, key: next.key, originSeq: next.originSeq, payload: next.payload, ...(vt ? { vt } : {}) });
        continue;
      }
      const streamSeq = next.order === 'total' ? (this.streamSeqs.get(next.stream) ?? 0) + 1 : 0;
      if (next.order === 'total') this.streamSeqs.set(next.stream, streamSeq);
      const request: OrderRequest = { kind: 'order-request', view: view.id, order: next.order, stream: next.stream, key: next.key, origin: h.id, originSeq: next.originSeq, streamSeq, safe: next.safe, payload: next.payload };
      if (next.order === 'total' && next.elide) request.elide = true;
      if (next.order === 'total' && next.audience !== undefined) request.audience = next.audience;
      if (next.takeOver) request.takeOver = true;
      this.pending.set(next.key, { request, sentAt: h.now, firstAt: h.now, sends: 0 });
      this.sendRequest(request);
    }
  }

  /** Hands requests not answered for a while to their orderer again. */
  retry(): void {
    for (const p of this.pending.values()) if (this.host.now - p.sentAt >= 2 * this.host.config.retransmitTicks) this.sendRequest(p.request);
  }

  /** A new view: causal counts restart, pending requests go to the new orderers, the queue moves. */
  onInstall(viewId: number): void {
    this.causalSent = 0;
    for (const p of this.pending.values()) {
      p.request = { ...p.request, view: viewId };
      this.handAgain(p);
    }
    this.sendQueued();
  }

  /**
   * `stream` is sequenced elsewhere from now on (a take-over was delivered): own requests on it not
   * delivered yet go to the new sequencer, in order (the old one sequences none after the take-over).
   */
  resend(stream: number): void {
    const viewId = this.host.view?.id;
    for (const p of this.pending.values()) {
      if (p.request.order === 'total' && p.request.stream === stream && p.request.view === viewId) this.handAgain(p);
    }
  }

  /** A request handed to a new orderer: its clock and count of sends start again, as for a new one. */
  private handAgain(p: Pending): void {
    p.firstAt = this.host.now;
    p.sends = 0;
    delete p.sequenced;
    this.sendRequest(p.request);
  }

  /** Is an own take-over of `stream` on its way (handed to its sequencer, not delivered)? */
  takingOver(stream: number): boolean {
    for (const p of this.pending.values()) if (p.request.takeOver === true && p.request.stream === stream && p.request.view === this.host.view?.id) return true;
    return false;
  }

  delivered(key: MessageKey): void {
    this.pending.delete(key);
  }

  /** The sequencer's copy of an own abcast arrived (delivered or not yet): its request got through. */
  sequenced(key: MessageKey): void {
    const p = this.pending.get(key);
    if (p !== undefined) p.sequenced = true;
  }

  /**
   * The sequencers that have not sequenced an own abcast handed to them `ticks` ago and handed
   * again three times since (a request or two lost, or one waiting behind a lost one, is not a cut
   * link: the whole-broker simulator under harsh loss found a sequencer excluded for that): the
   * link to them is cut one way, although they may be heard — in a star no heartbeat would show
   * it (heartbeats.ts).
   */
  unsequenced(ticks: number): MemberId[] {
    const out = new Set<MemberId>();
    for (const p of this.pending.values()) {
      // A request of an older view is handed to the new sequencer at the install (`onInstall`), not yet.
      if (p.request.order !== 'total' || p.request.view !== this.host.view?.id || p.sequenced === true || p.sends < 4 || this.host.now - p.firstAt <= ticks) continue;
      out.add(this.host.sequencerOf(p.request.stream));
    }
    out.delete(this.host.id);
    return [...out];
  }

  /** Own gbcasts still waiting (reported in a flush so the coordinator delivers them). */
  groupRequests(): OrderRequest[] {
    return [...this.pending.values()].filter((p) => p.request.order === 'group').map((p) => p.request);
  }

  private sendRequest(request: OrderRequest): void {
    const h = this.host;
    const pending = this.pending.get(request.key);
    if (pending !== undefined) {
      pending.sentAt = h.now;
      pending.sends++;
    }
    if (h.view === undefined || !h.canSend()) return;
    const to = request.order === 'total' ? h.sequencerOf(request.stream) : h.coordinatorOf();
    if (to === h.id) h.onOrderRequest(request);
    else h.send(to, request);
  }
}
