// TopicTable.apply(command, id): a mesh copy passes the id its stream gave the command beside it
// (the delivery's key) instead of copying the command with the id added, which V8 makes slow. A
// topic the command creates must still take its epoch from that id, at every copy alike: the id
// goes on to `newEpoch` beside the command, not copied into it either.
import { describe, expect, it } from 'vitest';
import { epochFor } from '../../broker/node/index.js';
import { TopicTable, topicLimitsDefault, type TopicCommand } from '../../broker/topics/index.js';

type Asked = [TopicCommand | undefined, string | undefined];

function table(seen: Asked[]): TopicTable {
  return new TopicTable({
    limits: topicLimitsDefault,
    sink: { message: () => {}, presence: () => {} },
    newEpoch: (c, id) => (seen.push([c, id]), `epoch-of-${id ?? 'none'}`),
    streamOf: () => 0,
    isPinned: () => true,
  });
}

const publish = (topic: string): TopicCommand => ({ kind: 'publish', topic, msgKind: 'event', data: 1, client: 'c', pid: 1, ts: 5 });

describe('TopicTable.apply with the stream id beside the command', () => {
  it('gives a topic the command creates the epoch of that id, and leaves the command as it was', () => {
    const seen: Asked[] = [];
    const t = table(seen);
    const command = publish('a');
    expect(t.apply(command, 'b0#1:7.3')).toEqual({ ok: true, seq: 1 });
    expect(t.get('a')?.epoch).toBe('epoch-of-b0#1:7.3');
    expect(seen).toEqual([[command, 'b0#1:7.3']]);
    expect(command).not.toHaveProperty('id');
  });

  it('takes the id the command carries when none is passed, and asks for no epoch for a topic that exists', () => {
    const seen: Asked[] = [];
    const t = table(seen);
    t.apply({ ...publish('b'), id: 'carried' });
    t.apply(publish('b'), 'later');
    expect(t.get('b')?.epoch).toBe('epoch-of-carried');
    expect(seen).toHaveLength(1);
  });

  it('derives the mesh epoch from the id beside the command as from the same id carried in it', () => {
    const command = publish('c');
    expect(epochFor(command, 'b2#9:41.0')).toBe(epochFor({ ...command, id: 'b2#9:41.0' }));
    expect(epochFor(command, 'b2#9:41.0')).not.toBe(epochFor(command, 'b2#9:41.1'));
    expect(epochFor({ ...command, id: 'carried' })).toBe(epochFor(command, 'carried'));
  });
});
