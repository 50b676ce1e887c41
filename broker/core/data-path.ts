/**
 * A member's data path within its view: a data message, received or its own, goes through the
 * channel (per-sender FIFO, acknowledgements, stability) into the ordering, which delivers it once
 * its order allows and, for a safe message, once every member holds it; an order request reaches
 * its stream's sequencer here and leaves as a sequenced multicast. member.ts dispatches to it; a
 * flush delivers the rest of a view through `deliver` (participant.ts).
 */
import type { MemberId, MessageKey } from './log.js';
import type { DataMessage, OrderRequest, PeerMessage } from './messages.js';
import type { MemberBasics } from './host.js';
import type { Deliverer } from './deliverer.js';
import type { Outgoing } from './outgoing.js';
import { type AbcastLanes, sequencedFields } from './sequencer.js';
import { type StreamAudiences, stubOf } from './audience.js';
import type { Heartbeats } from './heartbeats.js';
import type { StreamTakeovers } from './takeovers.js';

export interface DataPathHost extends MemberBasics {
  /** Delivering nothing new in this view (a flush runs, or no primary is reachable). */
  readonly frozen: boolean;
  readonly outgoing: Pick<Outgoing, 'sequenced' | 'sendQueued'>;
  readonly deliverer: Pick<Deliverer, 'data' | 'keys'>;
  readonly lanes: Pick<AbcastLanes, 'onDelivered' | 'admit'>;
  readonly audiences: Pick<StreamAudiences, 'delivered' | 'sequenced'>;
  /** At the coordinator: gbcast requests for the next view change. */
  readonly groupRequests: Map<MessageKey, OrderRequest>;
  coordinatorOf(): MemberId;
  send(to: MemberId, message: PeerMessage): void;
}

/** Parts the member keeps to itself that the data path drives. */
export interface DataPathParts {
  readonly heartbeats: Pick<Heartbeats, 'received'>;
  readonly takeovers: Pick<StreamTakeovers, 'sequencerOf' | 'sequencing' | 'sequenced' | 'notMine' | 'delivered' | 'afterDeliveries'>;
}

export class DataPath {
  constructor(
    private readonly h: DataPathHost,
    private readonly parts: DataPathParts,
  ) {}

  /** A data message of this view, from a peer or this member's own. */
  receive(m: DataMessage): void {
    const h = this.h;
    if (m.origin === h.id && m.order === 'total') h.outgoing.sequenced(m.key);
    for (const ready of h.channel.receive(m)) h.ordering.push(ready);
    this.parts.heartbeats.received(m.sender, h.channel.takeArrived());
    this.deliverAndCollect();
  }

  /** Delivers what order and stability allow (not while frozen), then lets go of what every member delivered. */
  deliverAndCollect(): void {
    const h = this.h;
    if (!h.frozen) {
      h.ordering.deliverReady((s) => h.channel.stableOf(s), false, (m) => this.deliver(m));
      this.parts.takeovers.afterDeliveries();
    }
    h.channel.collect((s) => h.ordering.deliveredUpTo.get(s) ?? 0);
    h.outgoing.sendQueued();
  }

  /** One delivery: as a stub where this member is outside the message's audience (audience.ts). */
  deliver(m: DataMessage): void {
    const h = this.h;
    if (m.order === 'total' && m.streamSeq !== undefined) h.lanes.onDelivered(m.origin, m.stream ?? 0, m.streamSeq);
    h.audiences.delivered(m);
    if (m.audience !== undefined && !m.audience.includes(h.view!.members.indexOf(h.id))) m = stubOf(m);
    if (h.deliverer.data(m)) this.parts.takeovers.delivered(m);
  }

  /** An order request, an own one or a peer's: sequenced here if this member sequences its stream now. */
  onOrderRequest(r: OrderRequest): void {
    const h = this.h;
    const takeovers = this.parts.takeovers;
    if (h.deliverer.keys.has(r.key)) return;
    if (r.order === 'group') {
      if (h.coordinatorOf() === h.id) h.groupRequests.set(r.key, r);
      return;
    }
    if (h.frozen) return;
    if (takeovers.sequencerOf(r.stream) !== h.id) return takeovers.notMine(r);
    if (!takeovers.sequencing(r.stream)) return;
    // Each origin's abcasts on a stream go out in the order it sent them (FIFO, O1).
    for (const { request, position } of h.lanes.admit(r)) {
      this.multicast(sequencedFields(request, position, h.audiences.sequenced(request, h.view!.members)));
      if (takeovers.sequenced(request)) return;
    }
  }

  /** Multicasts on this member's channel of the current view (own fifo/causal, or abcasts it sequences). */
  multicast(fields: Omit<DataMessage, 'kind' | 'view' | 'sender' | 'seq'>): void {
    const h = this.h;
    const message: DataMessage = { kind: 'data', view: h.view!.id, sender: h.id, seq: h.channel.nextSeq(), ...fields };
    h.channel.markSent(message.seq, h.now);
    for (const m of h.view!.members) if (m !== h.id) h.send(m, message);
    this.receive(message);
  }
}
