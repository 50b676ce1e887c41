// A load buffers the commands delivered while it waits for a snapshot. A publish's payload decoded
// off a link is a view into the whole frame; a buffered command keeps a copy of its own bytes
// instead, so that the frame (a batch of up to 256 KiB) is not kept alive for the wait.
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../broker/core/index.js';
import { Load, commandOf } from '../../broker/node/replica-load.js';

const delivery = (encoded: Uint8Array, key: string): Delivery => ({
  key,
  origin: 'b#1',
  order: 'total',
  safe: true,
  stream: 3,
  view: 1,
  payload: { command: { kind: 'publish', topic: 'room.1', msgKind: 'event', ts: 1, encoded } },
});

describe('a load buffering commands', () => {
  it('keeps a payload viewed in a large frame as a copy of its own bytes, and a small one as it is', () => {
    const frame = new Uint8Array(256 * 1024).fill(7);
    const viewed = frame.subarray(1000, 1010);
    const own = Uint8Array.of(0xc4, 1, 9);
    const load = new Load(0);
    load.mark('m');
    load.push(delivery(viewed, 'k1'));
    load.push(delivery(own, 'k2'));
    const [first, second] = load.split('m')!.after.map((d) => (commandOf(d) as { encoded: Uint8Array }).encoded);
    expect([...first!]).toEqual([...viewed]);
    expect(first!.buffer.byteLength).toBe(10);
    expect(second).toBe(own);
  });
});
