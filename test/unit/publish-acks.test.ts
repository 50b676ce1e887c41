import { describe, expect, it } from 'vitest';
import { decodeFrame, frameFromEncoded, ErrorCode } from '../../client/protocol/index.js';
import { PublishAcks } from '../../broker/server/publish-acks.js';

function harness(): { acks: PublishAcks; out: () => unknown[] } {
  const queued: Uint8Array[] = [];
  const acks = new PublishAcks((e) => void queued.push(e), () => {});
  return {
    acks,
    out: () => {
      acks.close();
      return queued.splice(0).map((e) => {
        const d = decodeFrame(frameFromEncoded([e], e.byteLength));
        return d.ok ? d.messages[0] : undefined;
      });
    },
  };
}

describe('cumulative publish acknowledgements', () => {
  it('answers in the order sent whatever order results come in, failures by their own error in place', () => {
    const { acks, out } = harness();
    const t = [10, 11, 12, 13].map((id) => acks.sent(id));
    acks.answered(t[2]!, { ok: true, seq: 7 });
    acks.answered(t[1]!, { ok: false, code: ErrorCode.NotReady, message: 'no' });
    expect(out()).toEqual([]);
    acks.answered(t[0]!, { ok: true, seq: 6 });
    acks.answered(t[3]!, { ok: true, seq: 8 });
    expect(out()).toEqual([
      { type: 'acks', seqs: [6] },
      { type: 'error', id: 11, code: ErrorCode.NotReady, message: 'no' },
      { type: 'acks', seqs: [7, 8] },
    ]);
    expect(acks.pending).toBe(0);
  });

  it('is not stalled by an id used twice while in flight (a ticket is a place, not an id)', () => {
    const { acks, out } = harness();
    const a = acks.sent(1);
    const b = acks.sent(2);
    const c = acks.sent(2);
    acks.answered(c, { ok: true, seq: 3 });
    acks.answered(b, { ok: true, seq: 2 });
    acks.answered(a, { ok: true, seq: 1 });
    expect(out()).toEqual([{ type: 'acks', seqs: [1, 2, 3] }]);
    expect(acks.pending).toBe(0);
    // Tickets keep counting after the queue emptied.
    const d = acks.sent(5);
    acks.answered(d, { ok: true, seq: 4 });
    expect(out()).toEqual([{ type: 'acks', seqs: [4] }]);
  });
});
