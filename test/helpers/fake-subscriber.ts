/**
 * A subscriber of the topic layer for in-process tests: keeps every message the layer hands it,
 * decoded.
 */
import { Unpackr } from 'msgpackr';
import type { ServerMessage } from '../../client/protocol/index.js';
import type { Subscriber } from '../../broker/topics/index.js';

const unpackr = new Unpackr({ mapsAsObjects: true, useRecords: false });

export class FakeSubscriber implements Subscriber {
  readonly received: ServerMessage[] = [];
  constructor(
    readonly id: string,
    readonly client = `client-${id}`,
  ) {}

  deliver(encoded: Uint8Array): void {
    this.received.push(unpackr.unpack(encoded) as ServerMessage);
  }

  /** The seqs of the messages received (of one topic, if given). */
  seqs(topic?: string): number[] {
    return this.received.flatMap((m) => (m.type === 'msg' && (topic === undefined || m.topic === topic) ? [m.seq] : []));
  }
}
