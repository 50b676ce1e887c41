// What a member outside an elided message's audience is sent (broker/core/audience.ts): a stub —
// the same message with no payload — for a data message and inside a flush final's union; the
// message itself for a member of the audience. The simulator checks what members deliver, and a
// stub is delivered as a placeholder whatever it carries: only this test sees a payload leak.
import { describe, expect, it } from 'vitest';
import { copyFor, stubOf } from '../../broker/core/audience.js';
import type { DataMessage, FlushFinal } from '../../broker/core/messages.js';

function data(seq: number, audience?: number[]): DataMessage {
  return { kind: 'data', view: 4, sender: 'b#1', seq, order: 'total', safe: true, origin: 'a#1', key: `a#1/${seq}`, originSeq: seq, stream: 3, streamPos: seq, streamSeq: seq, ...(audience === undefined ? {} : { audience }), payload: { commands: [{ topic: 'secret' }] } };
}

describe('audience copies', () => {
  it('sends a member outside the audience a stub: every field but the payload, which is null', () => {
    const m = data(1, [0, 2]);
    const { payload: _payload, ...rest } = m;
    const copy = copyFor(m, 1);
    expect(copy).toEqual({ ...rest, payload: null, stub: true });
    expect(m.payload).toEqual({ commands: [{ topic: 'secret' }] }); // the original keeps it
    expect(m).not.toHaveProperty('stub');
  });

  it("says in a sender's stub how many bytes of payload it stands for, when the sender can count them", () => {
    const m = data(7, [0, 2]);
    const { payload: _payload, ...rest } = m;
    expect(copyFor(m, 1, () => 4321)).toEqual({ ...rest, payload: null, stub: true, size: 4321 });
    expect(copyFor(m, 0, () => 4321)).toBe(m);
    expect(m).not.toHaveProperty('size');
    // Only a count travels: a receiver would drop anything else as malformed.
    for (const bad of [1.5, -3, Number.NaN, 2 ** 60, undefined as unknown as number]) expect(copyFor(m, 1, () => bad)).toEqual({ ...rest, payload: null, stub: true });
  });

  it('sends members of the audience, and every member of a message without one, the message itself', () => {
    const m = data(2, [0, 2]);
    expect(copyFor(m, 0)).toBe(m);
    expect(copyFor(m, 2)).toBe(m);
    const all = data(3);
    expect(copyFor(all, 1)).toBe(all);
  });

  it('leaves a stub a stub', () => {
    const stub = stubOf(data(4, [0]));
    expect(stubOf(stub)).toBe(stub);
  });

  it('strips the payloads of a flush final that a member is outside the audience of, and only those', () => {
    const inside = data(5, [1]);
    const outside = data(6, [0]);
    const final = { kind: 'flush-final', view: 4, attempt: 1, targets: {}, union: [inside, outside] } as unknown as FlushFinal;
    const copy = copyFor(final, 1) as FlushFinal;
    expect(copy.union[0]).toBe(inside);
    expect(copy.union[1]).toMatchObject({ seq: 6, payload: null, stub: true });
    expect(final.union[1]!.payload).not.toBeNull();
  });
});
