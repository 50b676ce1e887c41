// The map kept in order of use (broker/topics/recency-map.ts) under the topic table's idle topics
// and the publish-id table's clients: least recently used first, a use moves an entry to the
// recent end, `set` keeps a known key's place as Map.set does, and the order survives thousands
// of operations — checked against a plain array model of the same operations.
import { describe, expect, it } from 'vitest';
import { RecencyMap } from '../../broker/topics/recency-map.js';
import { TopicTable, topicLimitsDefault } from '../../broker/topics/index.js';

describe('RecencyMap', () => {
  it('gives the least recently used first, and a use or an add again moves a topic last', () => {
    const idle = new RecencyMap<string, number>();
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) idle.add(name, i);
    expect(idle.oldest()).toMatchObject({ key: 'a', value: 0 });
    expect(idle.touch('a')).toBe(true);
    expect(idle.touch('zz')).toBe(false);
    idle.add('b', 1);
    expect([...idle.keys()]).toEqual(['c', 'd', 'a', 'b']);
    expect(idle.delete('c')).toBe(true);
    expect(idle.delete('c')).toBe(false);
    expect(idle.oldest()).toMatchObject({ key: 'd' });
    idle.add('d', 9); // a known key with another value (a topic made again): the new value, last
    expect([...idle.keys()]).toEqual(['a', 'b', 'd']);
    expect(idle.get('d')).toBe(9);
    idle.set('a', 7); // set keeps a known key's place, as Map.set does (a snapshot listing a client twice)
    expect([...idle.entries()]).toEqual([['a', 7], ['b', 1], ['d', 9]]);
    idle.set('a', 0);
    expect(idle.get('zz')).toBeUndefined();
    expect(idle.oldest()).toMatchObject({ key: 'a', value: 0 });
    for (const name of ['b', 'a', 'd']) idle.delete(name); // the last one out leaves nothing behind
    expect(idle.oldest()).toBeUndefined();
    idle.add('f', 6);
    expect([...idle.keys()]).toEqual(['f']);
    idle.clear();
    expect(idle.size).toBe(0);
    expect(idle.oldest()).toBeUndefined();
    idle.add('e', 5);
    expect([...idle.keys()]).toEqual(['e']);
  });

  it('keeps the same order as an array model through thousands of random adds, uses and removals', () => {
    const idle = new RecencyMap<string, string>();
    const model: string[] = [];
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let step = 0; step < 20_000; step++) {
      const name = `t${random(300)}`;
      const op = random(5);
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
      } else if (op === 3) {
        idle.set(name, `${name}!`);
        if (at < 0) model.push(name);
        expect(idle.get(name)).toBe(`${name}!`);
      } else {
        const oldest = idle.oldest();
        expect(oldest?.key).toBe(model[0]);
        if (oldest !== undefined) {
          idle.delete(oldest.key);
          model.shift();
        }
      }
      expect(idle.size).toBe(model.length);
    }
    expect([...idle.keys()]).toEqual(model);
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
