// The topic table's eviction candidates (broker/topics/idle-topics.ts): least recently used first,
// a use moves a topic to the recent end, and the order survives thousands of uses and removals —
// checked against a plain array model of the same operations.
import { describe, expect, it } from 'vitest';
import { IdleTopics } from '../../broker/topics/idle-topics.js';
import { TopicTable, topicLimitsDefault } from '../../broker/topics/index.js';

describe('IdleTopics', () => {
  it('gives the least recently used first, and a use or an add again moves a topic last', () => {
    const idle = new IdleTopics<number>();
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) idle.add(name, i);
    expect(idle.oldest()).toMatchObject({ name: 'a', value: 0 });
    expect(idle.touch('a')).toBe(true);
    expect(idle.touch('zz')).toBe(false);
    idle.add('b', 1);
    expect([...idle.names()]).toEqual(['c', 'd', 'a', 'b']);
    expect(idle.delete('c')).toBe(true);
    expect(idle.delete('c')).toBe(false);
    expect(idle.oldest()).toMatchObject({ name: 'd' });
    idle.add('d', 9); // the same name with another value (a topic made again): the new one, last
    expect([...idle.names()]).toEqual(['a', 'b', 'd']);
    expect(idle.oldest()).toMatchObject({ name: 'a', value: 0 });
    for (const name of ['b', 'a', 'd']) idle.delete(name); // the last one out leaves nothing behind
    expect(idle.oldest()).toBeUndefined();
    idle.add('f', 6);
    expect([...idle.names()]).toEqual(['f']);
    idle.clear();
    expect(idle.size).toBe(0);
    expect(idle.oldest()).toBeUndefined();
    idle.add('e', 5);
    expect([...idle.names()]).toEqual(['e']);
  });

  it('keeps the same order as an array model through thousands of random adds, uses and removals', () => {
    const idle = new IdleTopics<string>();
    const model: string[] = [];
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let step = 0; step < 20_000; step++) {
      const name = `t${random(300)}`;
      const op = random(4);
      const at = model.indexOf(name);
      if (op === 0) {
        idle.add(name, name);
        if (at >= 0) model.splice(at, 1);
        model.push(name);
      } else if (op === 1) {
        expect(idle.touch(name)).toBe(at >= 0);
        if (at >= 0) model.push(...model.splice(at, 1));
      } else if (op === 2) {
        expect(idle.delete(name)).toBe(at >= 0);
        if (at >= 0) model.splice(at, 1);
      } else {
        const oldest = idle.oldest();
        expect(oldest?.name).toBe(model[0]);
        if (oldest !== undefined) {
          idle.delete(oldest.name);
          model.shift();
        }
      }
      expect(idle.size).toBe(model.length);
    }
    expect([...idle.names()]).toEqual(model);
  });
});

describe('TopicTable at its topic limit', () => {
  it('evicts the least recently used topic, a published one counting as used', () => {
    const t = new TopicTable({ limits: { ...topicLimitsDefault, topicsMax: 3 }, sink: { message: () => {}, presence: () => {} }, newEpoch: () => 'e', isPinned: () => false });
    const publish = (topic: string) => t.apply({ kind: 'publish', topic, msgKind: 'event', data: 1, ts: 1 });
    for (const topic of ['a', 'b', 'c']) publish(topic);
    publish('a'); // a used again: b is now the oldest
    publish('d');
    expect([...t.names()].sort()).toEqual(['a', 'c', 'd']);
    publish('e'); // then c
    expect([...t.names()].sort()).toEqual(['a', 'd', 'e']);
    expect(t.evictedTotal).toBe(2);
  });
});
