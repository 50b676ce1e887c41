// Proves the topic table's Idempotency-Key rule in-process: the same key with the same body digest
// is answered with the first seq (dup), with another digest it is refused (IdempotencyKeyReused)
// and nothing is applied — also at a replica that loaded the table from a snapshot — and a key
// recorded without a digest (an older broker) keeps today's answer.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../client/protocol/index.js';
import { TopicTable, topicLimitsDefault, type ApplyResult } from '../../broker/topics/index.js';
import { isTableSnapshot } from '../../broker/node/peer-notes.js';

function table(): TopicTable {
  return new TopicTable({ limits: topicLimitsDefault, sink: { message: () => {}, presence: () => {} }, newEpoch: () => 'e', isPinned: () => false });
}

let ts = 0;
function publish(t: TopicTable, data: unknown, key?: string, digest?: string): ApplyResult {
  return t.apply({ kind: 'publish', topic: 'orders', msgKind: 'event', data, key, digest, ts: ++ts });
}

describe('Idempotency-Key digests', () => {
  it('answers a retry with the same body, refuses one with another body, applies nothing for it', () => {
    const t = table();
    expect(publish(t, 'a', 'k1', 'd-a')).toEqual({ ok: true, seq: 1 });
    expect(publish(t, 'a', 'k1', 'd-a')).toEqual({ ok: true, seq: 1, dup: true });
    const reused = publish(t, 'b', 'k1', 'd-b');
    expect(reused).toMatchObject({ ok: false, code: ErrorCode.IdempotencyKeyReused });
    expect(t.get('orders')!.seq).toBe(1);
    // The first body still answers as before.
    expect(publish(t, 'a', 'k1', 'd-a')).toEqual({ ok: true, seq: 1, dup: true });
    expect(publish(t, 'b', 'k2', 'd-b')).toEqual({ ok: true, seq: 2 });
  });

  it('keeps the digest through a snapshot (a replica that loads it refuses the same reuse)', () => {
    const t = table();
    publish(t, 'a', 'k1', 'd-a');
    const snapshot = t.snapshot();
    expect(isTableSnapshot(snapshot)).toBe(true);
    const replica = table();
    replica.restore(snapshot);
    expect(publish(replica, 'b', 'k1', 'd-b')).toMatchObject({ ok: false, code: ErrorCode.IdempotencyKeyReused });
    expect(publish(replica, 'a', 'k1', 'd-a')).toEqual({ ok: true, seq: 1, dup: true });
    const part = table();
    part.restorePart(t.snapshotPart(() => true, 0), () => true, true);
    expect(publish(part, 'b', 'k1', 'd-b')).toMatchObject({ ok: false, code: ErrorCode.IdempotencyKeyReused });
  });

  it('a key recorded without a digest (an older broker) answers as a retry, as before', () => {
    const t = table();
    expect(publish(t, 'a', 'k1')).toEqual({ ok: true, seq: 1 });
    expect(publish(t, 'b', 'k1', 'd-b')).toEqual({ ok: true, seq: 1, dup: true });
  });
});
