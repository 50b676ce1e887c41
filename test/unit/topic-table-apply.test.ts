// TopicTable.apply(command, id): a mesh copy passes the id its stream gave the command beside it
// (the delivery's key) instead of copying the command with the id added, which V8 makes slow. A
// topic the command creates must still take its epoch from that id, at every copy alike.
import { describe, expect, it } from 'vitest';
import { TopicTable, topicLimitsDefault, type TopicCommand } from '../../broker/topics/index.js';

function table(seen: Array<TopicCommand | undefined>): TopicTable {
  return new TopicTable({
    limits: topicLimitsDefault,
    sink: { message: () => {}, presence: () => {} },
    newEpoch: (c) => (seen.push(c), `epoch-of-${c?.id ?? 'none'}`),
    streamOf: () => 0,
    isPinned: () => true,
  });
}

const publish = (topic: string): TopicCommand => ({ kind: 'publish', topic, msgKind: 'event', data: 1, client: 'c', pid: 1, ts: 5 });

describe('TopicTable.apply with the stream id beside the command', () => {
  it('gives a topic the command creates the epoch of that id, and leaves the command as it was', () => {
    const seen: Array<TopicCommand | undefined> = [];
    const t = table(seen);
    const command = publish('a');
    expect(t.apply(command, 'b0#1:7.3')).toEqual({ ok: true, seq: 1 });
    expect(t.get('a')?.epoch).toBe('epoch-of-b0#1:7.3');
    expect(seen).toEqual([{ ...command, id: 'b0#1:7.3' }]);
    expect(command).not.toHaveProperty('id');
  });

  it('takes the id the command carries when none is passed, and asks for no epoch for a topic that exists', () => {
    const seen: Array<TopicCommand | undefined> = [];
    const t = table(seen);
    t.apply({ ...publish('b'), id: 'carried' });
    t.apply(publish('b'), 'later');
    expect(t.get('b')?.epoch).toBe('epoch-of-carried');
    expect(seen).toHaveLength(1);
  });
});
