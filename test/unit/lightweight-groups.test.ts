// Proves the lightweight-group layer's pure logic: the topic hash is FNV-1a (pinned to published
// test vectors, so every broker and every version agrees), topics spread evenly, rendezvous
// owners move little when the view changes, and the table of holders and wants changes only by
// ordered control messages, the same at every broker.
import { describe, expect, it } from 'vitest';
import { LwgTable, fnv1a32, lwgOf, ownersOf, type LwgControl } from '../../lightweight-groups/index.js';

describe('hashing', () => {
  it('is 32-bit FNV-1a (published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes TextEncoder gives, for any string (multi-byte, pairs, lone surrogates)', () => {
    const reference = (text: string): number => {
      let hash = 0x811c9dc5;
      for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      return hash >>> 0;
    };
    const units = [0x41, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x4e2d, 0xfffd, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00];
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const texts = ['é', '中文.topic', '😀', 'a\ud800', '\udc00b', '\ud83d\ude00\ud83d'];
    for (let i = 0; i < 2000; i++) texts.push(String.fromCharCode(...Array.from({ length: next() % 9 }, () => units[next() % units.length]!)));
    for (const text of texts) expect(fnv1a32(text), JSON.stringify(text)).toBe(reference(text));
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
  const view = ['a#1', 'b#1', 'c#1', 'd#1'];

  it('has holders ∪ wanting brokers as members, changed by ordered control messages', () => {
    const table = new LwgTable({ lwgCount: 8, replicas: 2 });
    table.installView(view);
    const g = table.lwgOf('room.1');
    const { owners, sequencer } = table.info(g);
    expect(sequencer).toBe(owners[0]);
    // The first holder of a group nobody holds starts ready (empty); the next waits for a copy.
    table.apply(owners[0]!, { op: 'hold', lwg: g });
    table.apply(owners[1]!, { op: 'hold', lwg: g });
    expect(table.info(g).holders).toEqual([
      { broker: owners[0], ready: true },
      { broker: owners[1], ready: false },
    ]);
    expect(table.server(g)).toBe(owners[0]);
    expect(table.ownersReady(g)).toBe(false);
    table.apply(owners[1]!, { op: 'ready', lwg: g });
    expect(table.ownersReady(g)).toBe(true);
    const outsider = view.find((m) => !owners.includes(m))!;
    expect(table.keeps('room.1', outsider)).toBe(false);
    table.apply(outsider, { op: 'want', lwg: g, topic: 'room.1' });
    expect(table.keeps('room.1', outsider)).toBe(true);
    expect(table.info(g).members).toEqual([...owners, outsider]);
    table.apply(outsider, { op: 'unwant', lwg: g, topic: 'room.1' });
    expect(table.info(g).members).toEqual(owners);
    // a broker outside the view, or a group out of range, changes nothing
    table.apply('z#1', { op: 'hold', lwg: g });
    table.apply('a#1', { op: 'hold', lwg: 99 });
    expect(table.info(g).members).toEqual(owners);
  });

  it('never lets the last ready holder drop its copy', () => {
    const table = new LwgTable({ lwgCount: 1, replicas: 1 });
    table.installView(['a#1', 'b#1']);
    table.apply('a#1', { op: 'hold', lwg: 0 });
    table.apply('b#1', { op: 'hold', lwg: 0 });
    table.apply('a#1', { op: 'unhold', lwg: 0 });
    expect(table.isHolder(0, 'a#1')).toBe(true);
    table.apply('b#1', { op: 'ready', lwg: 0 });
    table.apply('a#1', { op: 'unhold', lwg: 0 });
    expect(table.holders(0)).toEqual(['b#1']);
  });

  it('drops brokers that leave the view, re-chooses owners, and reports groups whose every copy left', () => {
    const table = new LwgTable({ lwgCount: 4, replicas: 3 });
    table.installView(view);
    table.apply('d#1', { op: 'want', lwg: 0, topic: 't' });
    table.apply('d#1', { op: 'hold', lwg: 1 });
    table.apply('c#1', { op: 'hold', lwg: 1 });
    expect(table.installView(['a#1', 'b#1', 'c#1'])).toEqual([1]);
    expect(table.info(0).members).toEqual([]);
    // Group 1's only ready copy (d's) left: it waits for d, and c (still loading) is not made ready.
    expect(table.info(1).holders).toEqual([{ broker: 'c#1', ready: false }]);
    expect(table.waiting(1)).toEqual({ id: 1, at: 0, last: 0, awaiting: ['d'], offers: [] });
    expect(table.info(0).owners).toHaveLength(3);
  });

  describe('a group whose every ready copy left', () => {
    /** Group 0 held ready by a#1 and b#1, `n` deliveries in; then both leave at once. */
    const waiting = (n = 5): LwgTable => {
      const table = new LwgTable({ lwgCount: 1, replicas: 2 });
      table.installView(['a#1', 'b#1', 'c#1', 'd#1']);
      table.apply('a#1', { op: 'hold', lwg: 0 });
      table.apply('b#1', { op: 'hold', lwg: 0 });
      table.apply('b#1', { op: 'ready', lwg: 0 });
      table.apply('c#1', { op: 'hold', lwg: 0 });
      for (let i = 0; i < n; i++) table.advance(0, true);
      expect(table.installView(['c#1', 'd#1'])).toEqual([0]);
      return table;
    };

    it('waits for each by name, holds no copy ready meanwhile, and takes the longest copy offered', () => {
      const table = waiting();
      expect(table.waiting(0)).toMatchObject({ at: 5, awaiting: ['a', 'b'] });
      expect(table.server(0)).toBeUndefined();
      table.apply('d#1', { op: 'hold', lwg: 0 }); // an owner's hold starts nothing empty
      expect(table.isReady(0, 'd#1')).toBe(false);
      table.installView(['c#1', 'd#1', 'a#2', 'b#2']);
      expect(table.apply('a#2', { op: 'salvage', lwg: 0, wait: 1, pos: 4 })).toBeUndefined();
      expect(table.apply('c#1', { op: 'salvage', lwg: 0, wait: 1, pos: 5 })).toBeUndefined(); // not awaited
      expect(table.apply('b#2', { op: 'salvage', lwg: 0, wait: 2, pos: 5 })).toBeUndefined(); // another wait
      expect(table.apply('b#2', { op: 'salvage', lwg: 0, wait: 1, pos: 5 })).toEqual({ lwg: 0, server: 'b#2', pos: 5, at: 5, behind: false });
      expect(table.server(0)).toBe('b#2');
      expect(table.holders(0)[0]).toBe('b#2');
      expect(table.isReady(0, 'a#2')).toBe(false);
      expect(table.waiting(0)).toBeUndefined();
    });

    it('says a copy is behind when it misses deliveries the others made, and ignores a copy past the wait', () => {
      const table = waiting();
      table.installView(['c#1', 'd#1', 'a#2', 'b#2']);
      table.apply('a#2', { op: 'salvage', lwg: 0, wait: 1, pos: 6 }); // impossible: no copy
      expect(table.apply('b#2', { op: 'salvage', lwg: 0, wait: 1, pos: 3 })).toEqual({ lwg: 0, server: 'b#2', pos: 3, at: 5, behind: true });
    });

    it('starts empty at its remaining holders when every broker answers with no copy', () => {
      const table = waiting();
      table.installView(['c#1', 'd#1', 'a#2', 'b#2']);
      table.apply('a#2', { op: 'salvage', lwg: 0, wait: 1 });
      expect(table.apply('b#2', { op: 'salvage', lwg: 0, wait: 1 })).toEqual({ lwg: 0, server: undefined });
      expect(table.isReady(0, 'c#1')).toBe(true);
    });

    it('ends with a holder whose own load completes meanwhile, or with the offers so far when given up', () => {
      const loaded = waiting();
      expect(loaded.apply('c#1', { op: 'ready', lwg: 0 })).toEqual({ lwg: 0, server: 'c#1', pos: 5, at: 5, behind: false });
      const given = waiting();
      given.installView(['c#1', 'd#1', 'a#2']);
      given.apply('a#2', { op: 'salvage', lwg: 0, wait: 1, pos: 2 });
      expect(given.apply('c#1', { op: 'give-up', lwg: 0, wait: 7 })).toBeUndefined();
      expect(given.apply('c#1', { op: 'give-up', lwg: 0, wait: 1 })).toEqual({ lwg: 0, server: 'a#2', pos: 2, at: 5, behind: true });
    });

    it('waits too for a holder that let go of a ready copy in the last view (it may hold what the owners acknowledged)', () => {
      const all = ['a#1', 'b#1', 'c#1', 'd#1'];
      const table = new LwgTable({ lwgCount: 1, replicas: 2 });
      table.installView(all);
      const owners = ownersOf(0, all, 2);
      const [extra, stays] = all.filter((m) => !owners.includes(m));
      for (const m of [...owners, extra!]) {
        table.apply(m, { op: 'hold', lwg: 0 });
        table.apply(m, { op: 'ready', lwg: 0 });
      }
      table.apply(extra!, { op: 'unhold', lwg: 0 });
      expect(table.holders(0)).not.toContain(extra);
      expect(table.installView([extra!, stays!])).toEqual([0]);
      expect(table.waiting(0)?.awaiting.sort()).toEqual([...owners, extra!].map((m) => m.split('#')[0]).sort());
    });

    it('waits again for a broker whose offered copy left with it, and a joiner learns the wait with the table', () => {
      const table = waiting();
      table.installView(['c#1', 'd#1', 'a#2']);
      table.apply('a#2', { op: 'salvage', lwg: 0, wait: 1, pos: 5 });
      expect(table.awaits(0, 'a#2')).toBe(true);
      table.installView(['c#1', 'd#1']);
      expect(table.waiting(0)?.awaiting.sort()).toEqual(['a', 'b']);
      expect(table.waiting(0)?.offers).toEqual([]);
      const joiner = new LwgTable({ lwgCount: 1, replicas: 2 });
      joiner.restore(table.snapshot());
      joiner.installView(['c#1', 'd#1']);
      expect(joiner.all()).toEqual(table.all());
      expect(joiner.position(0)).toBe(5);
    });
  });

  describe('claims (owners that follow traffic)', () => {
    it('puts claiming brokers first among the owners, in their order, R in all; the view places the rest and the sequencer', () => {
      const table = new LwgTable({ lwgCount: 4, replicas: 2 });
      table.installView(view);
      const placed = table.info(2).owners;
      const others = view.filter((b) => !placed.includes(b));
      table.apply(others[0]!, { op: 'claim', lwg: 2 });
      expect(table.ownersOf(2)).toEqual([others[0], placed[0]]);
      table.apply(others[1]!, { op: 'claim', lwg: 2 });
      table.apply(others[0]!, { op: 'claim', lwg: 2 }); // said twice: one claim
      expect(table.ownersOf(2)).toEqual([others[0], others[1]]);
      expect(table.info(2)).toMatchObject({ claims: [others[0], others[1]], sequencer: placed[0] });
      // Other groups keep the view's owners.
      expect(table.ownersOf(1)).toEqual(ownersOf(1, view, 2));
      table.apply(others[0]!, { op: 'unclaim', lwg: 2 });
      expect(table.ownersOf(2)).toEqual([others[1], placed[0]]);
      // A claim from a broker outside the view changes nothing.
      table.apply('z#1', { op: 'claim', lwg: 2 });
      expect(table.info(2).claims).toEqual([others[1]]);
    });

    it('outlive a view change, and leave with their broker', () => {
      const table = new LwgTable({ lwgCount: 4, replicas: 2 });
      table.installView(view);
      const placed = table.info(0).owners;
      const [x, y] = view.filter((b) => !placed.includes(b));
      table.apply(x!, { op: 'claim', lwg: 0 });
      table.apply(y!, { op: 'claim', lwg: 0 });
      table.installView([...view, 'e#1']);
      expect(table.ownersOf(0)).toEqual([x, y]);
      table.installView(view.filter((b) => b !== x));
      expect(table.info(0).claims).toEqual([y]);
      expect(table.ownersOf(0)).toEqual([y, ownersOf(0, view.filter((b) => b !== x && b !== y), 1)[0]]);
    });

    it('hands a group over as a view change does: the displaced owner lets go only once the claimer is ready, and an owner never', () => {
      const table = new LwgTable({ lwgCount: 1, replicas: 2 });
      table.installView(view);
      const [p, q] = table.ownersOf(0);
      const claimer = view.find((b) => b !== p && b !== q)!;
      table.apply(p!, { op: 'hold', lwg: 0 });
      table.apply(q!, { op: 'hold', lwg: 0 });
      table.apply(q!, { op: 'ready', lwg: 0 });
      table.apply(claimer, { op: 'claim', lwg: 0 });
      expect(table.ownersOf(0)).toEqual([claimer, p]);
      table.apply(claimer, { op: 'hold', lwg: 0 });
      table.apply(q!, { op: 'unhold', lwg: 0 });
      expect(table.isHolder(0, q!)).toBe(true); // the claimer is not ready yet
      // An owner's unhold (said before a claim made it one again) is refused even with every owner ready.
      table.apply(claimer, { op: 'ready', lwg: 0 });
      table.apply(p!, { op: 'unhold', lwg: 0 });
      expect(table.isHolder(0, p!)).toBe(true);
      table.apply(q!, { op: 'unhold', lwg: 0 });
      expect(table.holders(0)).toEqual([p, claimer]);
      expect(table.ownersReady(0)).toBe(true);
    });
  });

  it('is led by its first owner with a complete copy; the leader moves to a claimer once it is ready, and only then', () => {
    const table = new LwgTable({ lwgCount: 1, replicas: 2 });
    table.installView(view);
    const [p, q] = table.ownersOf(0);
    expect(table.leader(0)).toBe(p); // nobody ready yet: the first owner
    table.apply(q!, { op: 'hold', lwg: 0 }); // starts ready (a new group)
    expect(table.leader(0)).toBe(q);
    table.apply(p!, { op: 'hold', lwg: 0 });
    table.apply(p!, { op: 'ready', lwg: 0 });
    expect(table.leader(0)).toBe(p);
    const claimer = view.find((b) => b !== p && b !== q)!;
    const before = table.leadership;
    table.apply(claimer, { op: 'claim', lwg: 0 });
    table.apply(claimer, { op: 'hold', lwg: 0 });
    table.apply(q!, { op: 'ready', lwg: 0 }); // said again: changes nothing
    expect(table.leader(0)).toBe(p); // the claimer is first owner but still loading
    expect(table.leadership).toBe(before);
    table.apply(claimer, { op: 'ready', lwg: 0 });
    expect(table.leader(0)).toBe(claimer);
    expect(table.leadership).toBe(before + 1);
  });

  it('agrees at every broker given the same view and the same controls, and survives a snapshot', () => {
    const controls: Array<[string, LwgControl]> = [
      ['c#1', { op: 'hold', lwg: 1 }],
      ['a#1', { op: 'want', lwg: 2, topic: 'x' }],
      ['b#1', { op: 'hold', lwg: 1 }],
      ['b#1', { op: 'ready', lwg: 1 }],
      ['c#1', { op: 'unhold', lwg: 1 }],
      ['c#1', { op: 'claim', lwg: 3 }],
      ['a#1', { op: 'claim', lwg: 3 }],
      ['c#1', { op: 'unclaim', lwg: 3 }],
      ['b#1', { op: 'claim', lwg: 0 }],
    ];
    const tables = [new LwgTable(), new LwgTable()];
    for (const t of tables) {
      t.installView(['a#1', 'b#1', 'c#1']);
      for (const [broker, c] of controls) t.apply(broker, c);
    }
    expect(tables[0]!.all()).toEqual(tables[1]!.all());
    const joiner = new LwgTable();
    joiner.restore(tables[0]!.snapshot());
    joiner.installView(['a#1', 'b#1', 'c#1']);
    expect(joiner.all()).toEqual(tables[0]!.all());
    expect(joiner.info(3).claims).toEqual(['a#1']);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new LwgTable({ lwgCount: 0, replicas: 2 })).toThrow(RangeError);
    expect(() => new LwgTable({ lwgCount: 8, replicas: 0 })).toThrow(RangeError);
  });
});
