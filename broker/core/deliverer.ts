/**
 * Handing messages to the application: each delivery is logged (for the
 * checker) and emitted as an action, abcasts and gbcasts once per key
 * whatever view changes resubmit them, gbcasts in their agreed order.
 */
import type { Action, Delivery } from './actions.js';
import { BoundedSet } from './bounded-set.js';
import type { LogEntry, MemberId, MessageKey, ViewRecord } from './log.js';
import type { DataMessage, OrderRequest } from './messages.js';

export interface DelivererHost {
  readonly id: MemberId;
  readonly view: ViewRecord | undefined;
  log(entry: LogEntry): void;
  emit(action: Action): void;
  /** Own abcasts and gbcasts on their way: one that arrived is not submitted again. */
  readonly outgoing: { delivered(key: MessageKey): void };
}

export class Deliverer {
  /** Keys of abcasts and gbcasts delivered (a window: old ones cannot come back). */
  readonly keys = new BoundedSet<MessageKey>(200_000);

  constructor(private readonly host: DelivererHost) {}

  /** Delivers `m` unless it was delivered already (an abcast sequenced twice); says whether it did. */
  data(m: DataMessage): boolean {
    if (m.order === 'total') {
      if (this.keys.has(m.key)) return false;
      this.keys.add(m.key);
      if (m.origin === this.host.id) this.host.outgoing.delivered(m.key);
    }
    const delivery: Delivery = { key: m.key, origin: m.origin, order: m.order, safe: m.safe, payload: m.payload, view: this.host.view!.id };
    if (m.stream !== undefined) delivery.stream = m.stream;
    if (m.stub === true) delivery.stub = true;
    if (m.stub === true && m.size !== undefined) delivery.size = m.size;
    this.record(delivery, m.originSeq, m);
    return true;
  }

  /** The gbcasts of a view change, in the agreed order, once each. */
  group(requests: readonly OrderRequest[]): void {
    for (const r of requests) {
      if (this.keys.has(r.key)) continue;
      this.keys.add(r.key);
      if (r.origin === this.host.id) this.host.outgoing.delivered(r.key);
      this.record({ key: r.key, origin: r.origin, order: 'group', safe: r.safe, payload: r.payload, view: this.host.view!.id }, r.originSeq);
    }
  }

  private record(delivery: Delivery, originSeq: number, data?: DataMessage): void {
    const entry: LogEntry = {
      kind: 'deliver',
      member: this.host.id,
      msg: delivery.key,
      view: delivery.view,
      order: delivery.order,
      safe: delivery.safe,
      sender: delivery.origin,
      senderSeq: originSeq,
    };
    if (data?.vt !== undefined) entry.vt = data.vt;
    if (data?.stream !== undefined) entry.stream = data.stream;
    if (data?.streamPos !== undefined) entry.streamPos = data.streamPos;
    if (data?.audience !== undefined) entry.audience = data.audience.includes(this.host.view!.members.indexOf(this.host.id));
    if (data?.stub === true) entry.stub = true;
    this.host.log(entry);
    this.host.emit({ kind: 'deliver', delivery });
  }
}
