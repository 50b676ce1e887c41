// Proves the lightweight-group layer's pure logic: the topic hash is FNV-1a (pinned to published
// test vectors, so every broker and every version agrees), topics spread evenly, rendezvous
// owners move little when the view changes, and the membership table is owners ∪ interested,
// changed only by ordered control messages.
import { describe, expect, it } from 'vitest';
import { LwgTable, fnv1a32, keepOnReceipt, lwgOf, ownersOf } from '../../lightweight-groups/index.js';

describe('hashing', () => {
  it('is 32-bit FNV-1a (published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('maps topics onto groups stably and evenly', () => {
    expect(lwgOf('room.42', 32)).toBe(1515567518 % 32);
    const counts = new Array(32).fill(0);
    for (let i = 0; i < 32_000; i++) counts[lwgOf(`room.${i}`, 32)]++;
    expect(Math.min(...counts)).toBeGreaterThan(700);
    expect(Math.max(...counts)).toBeLessThan(1300);
  });
});

describe('owners', () => {
  const view = ['b0#1', 'b1#1', 'b2#1', 'b3#1', 'b4#1'];

  it('picks R owners, capped by the view, the same whatever the order of the view', () => {
    expect(ownersOf(3, view, 2)).toHaveLength(2);
    expect(ownersOf(3, view.slice(0, 1), 2)).toEqual(['b0#1']);
    expect(ownersOf(3, [...view].reverse(), 2)).toEqual(ownersOf(3, view, 2));
  });

  it('moves only the groups a new broker wins when it joins (rendezvous)', () => {
    const before = Array.from({ length: 64 }, (_, g) => ownersOf(g, view, 1)[0]);
    const after = Array.from({ length: 64 }, (_, g) => ownersOf(g, [...view, 'b5#1'], 1)[0]);
    const moved = before.filter((b, g) => b !== after[g]);
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length).toBeLessThan(64 / 2);
    for (let g = 0; g < 64; g++) if (before[g] !== after[g]) expect(after[g]).toBe('b5#1');
  });

  it('gives a restarted broker (new incarnation) the same groups', () => {
    const restarted = view.map((m) => (m === 'b2#1' ? 'b2#2' : m));
    for (let g = 0; g < 32; g++) expect(ownersOf(g, restarted, 2).map((m) => m.split('#')[0])).toEqual(ownersOf(g, view, 2).map((m) => m.split('#')[0]));
  });
});

describe('LwgTable', () => {
  it('has owners ∪ interested as members, changed by ordered control messages', () => {
    const table = new LwgTable({ lwgCount: 8, replicas: 2 });
    table.installView(['a#1', 'b#1', 'c#1', 'd#1']);
    const g = table.lwgOf('room.1');
    const { owners, sequencer } = table.info(g);
    expect(sequencer).toBe(owners[0]);
    const outsider = ['a#1', 'b#1', 'c#1', 'd#1'].find((m) => !owners.includes(m))!;
    expect(table.isMember(g, outsider)).toBe(false);
    expect(table.apply({ kind: 'interest', lwg: g, broker: outsider })).toBe(true);
    expect(table.apply({ kind: 'interest', lwg: g, broker: outsider })).toBe(false);
    expect(table.info(g).members).toEqual([...owners, outsider]);
    expect(table.apply({ kind: 'disinterest', lwg: g, broker: outsider })).toBe(true);
    expect(table.isMember(g, outsider)).toBe(false);
    // a broker outside the view, or a group out of range, changes nothing
    expect(table.apply({ kind: 'interest', lwg: g, broker: 'z#1' })).toBe(false);
    expect(table.apply({ kind: 'interest', lwg: 99, broker: 'a#1' })).toBe(false);
  });

  it('drops the interest of brokers that leave the view and re-chooses owners', () => {
    const table = new LwgTable({ lwgCount: 4, replicas: 3 });
    table.installView(['a#1', 'b#1', 'c#1', 'd#1']);
    table.apply({ kind: 'interest', lwg: 0, broker: 'd#1' });
    table.installView(['a#1', 'b#1', 'c#1']);
    expect(table.info(0).members.every((m) => m !== 'd#1')).toBe(true);
    expect(table.info(0).owners).toHaveLength(3);
    expect(table.ownedBy('a#1')).toEqual([0, 1, 2, 3]);
  });

  it('agrees at every broker given the same view and the same controls', () => {
    const controls = [
      { kind: 'interest', lwg: 1, broker: 'c#1' },
      { kind: 'interest', lwg: 2, broker: 'a#1' },
      { kind: 'disinterest', lwg: 1, broker: 'c#1' },
      { kind: 'interest', lwg: 1, broker: 'b#1' },
    ] as const;
    const tables = [new LwgTable(), new LwgTable()];
    for (const t of tables) {
      t.installView(['a#1', 'b#1', 'c#1']);
      for (const c of controls) t.apply(c);
    }
    expect(tables[0]!.all()).toEqual(tables[1]!.all());
  });

  it('filters on receipt: owners keep everything, others only what local subscribers want', () => {
    const local = new Set(['room.1']);
    expect(keepOnReceipt(true, 'room.2', (t) => local.has(t))).toBe(true);
    expect(keepOnReceipt(false, 'room.1', (t) => local.has(t))).toBe(true);
    expect(keepOnReceipt(false, 'room.2', (t) => local.has(t))).toBe(false);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new LwgTable({ lwgCount: 0, replicas: 2 })).toThrow(RangeError);
    expect(() => new LwgTable({ lwgCount: 8, replicas: 0 })).toThrow(RangeError);
  });
});
