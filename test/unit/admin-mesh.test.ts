// The admin page's model (admin/mesh.js) from `$sys` states, and the page's rules kept by
// reading its files: members from the newest fresh view (a broker gone from it is not listed),
// roles, the group table from the broker that sends it with topic counts, the busiest topics
// merged across brokers; no inline script, no HTML parsing of data, no eval.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerOfSession, meshModel, nameOf, staleMs } from '../../admin/mesh.js';

const view = (id: number, members: string[]) => ({ id, members, primary: true });
function snapshot(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1, id, name: nameOf(id), at: 1000, startedAt: 0, version: '0.1.0', http: '', mode: 'mesh', ready: true,
    view: view(2, ['b0#1', 'b1#1', 'b2#1']), views: [{ ...view(1, ['b0#1']), at: 10 }, { ...view(2, ['b0#1', 'b1#1', 'b2#1']), at: 20 }],
    connections: 2, subscriptions: 3, topics: 4, rates: { in: 1.5, out: 3 }, latency: { p50: 0.001, p99: 0.004, count: 10 }, top: [],
    lwg: { count: 2, replicas: 2, topics: [] }, groupsPartial: false, ...extra,
  };
}

describe('the admin page model', () => {
  it('lists the members of the newest fresh view with their roles, the group table and the merged busiest topics', () => {
    const brokers = {
      'b0#1': snapshot('b0#1', { top: [['room.1', 5, 50], ['room.2', 1, 9]], lwg: { count: 2, replicas: 2, topics: [[0, 3]] } }),
      'b1#1': snapshot('b1#1', {
        // Group 0 as a broker before the sequencer field sends it (its first owner sequences it);
        // group 1's stream taken over by b0, which owns nothing of it.
        groups: [[0, ['b1#1', 'b0#1'], ['b1#1'], ['b0#1'], []], [1, ['b2#1', 'b1#1'], ['b2#1', 'b1#1'], [], ['b0#1'], 'b0#1']],
        top: [['room.1', 6, 52]], lwg: { count: 2, replicas: 2, topics: [[0, 2], [1, 7]] },
      }),
      'b2#1': snapshot('b2#1', { latency: { p50: 0.002, p99: 0.02, count: 5 } }),
    };
    const now = 100_000;
    const seen = new Map([['b0#1', now - 100], ['b1#1', now - 200], ['b2#1', now - staleMs - 1]]);
    const m = meshModel(brokers, seen, now, 'b1');
    expect(m.view).toEqual(view(2, ['b0#1', 'b1#1', 'b2#1']));
    expect(m.members.map((x) => [x.id, x.roles, x.fresh])).toEqual([
      ['b0#1', ['coordinator'], true],
      ['b1#1', ['this broker', '$sys leader'], true],
      ['b2#1', [], false],
    ]);
    expect(m.members.map((x) => [x.sequences, x.owns])).toEqual([[1, 1], [1, 2], [0, 1]]);
    expect(m.groups!.groups).toEqual([
      { lwg: 0, owners: ['b1#1', 'b0#1'], ready: ['b1#1'], loading: ['b0#1'], wanters: [], sequencer: 'b1#1', topics: 3 },
      { lwg: 1, owners: ['b2#1', 'b1#1'], ready: ['b2#1', 'b1#1'], loading: [], wanters: ['b0#1'], sequencer: 'b0#1', topics: 7 },
    ]);
    expect(m.top).toEqual([
      { topic: 'room.1', rate: 6, seq: 52, brokers: ['b0', 'b1'] },
      { topic: 'room.2', rate: 1, seq: 9, brokers: ['b0'] },
    ]);
    expect(m.totals).toEqual({ connections: 6, subscriptions: 9, in: 4.5, out: 9, p99: 0.02 });
    expect(m.views.map((v) => [v.id, v.joined, v.left])).toEqual([[2, ['b1#1', 'b2#1'], []], [1, ['b0#1'], []]]);
  });

  it('drops a broker the fresh brokers no longer have in their view, though its last snapshot is still in the state', () => {
    const after = view(3, ['b1#1', 'b2#1']);
    const brokers = {
      'b0#1': snapshot('b0#1', { top: [['room.9', 3, 30]], connections: 100 }),
      'b1#1': snapshot('b1#1', { view: after, views: [{ ...view(2, ['b0#1', 'b1#1', 'b2#1']), at: 20 }, { ...after, at: 30 }] }),
      'b2#1': snapshot('b2#1', { view: after }),
    };
    const now = 50_000;
    const seen = new Map([['b0#1', now - 20_000], ['b1#1', now], ['b2#1', now]]);
    const m = meshModel(brokers, seen, now, 'b2');
    expect(m.members.map((x) => x.id)).toEqual(['b1#1', 'b2#1']);
    expect(m.views[0]).toMatchObject({ id: 3, joined: [], left: ['b0#1'] });
    // Its last snapshot counts no more; and the oldest view kept (not the first) joined nobody.
    expect(m.top).toEqual([]);
    expect(m.totals.connections).toBe(4);
    expect(m.views[1]).toMatchObject({ id: 2, joined: [], left: [] });
    // Nothing fresh (just loaded): the newest view there is.
    expect(meshModel(brokers, new Map(), now, 'b2').members.map((x) => x.id)).toEqual(['b1#1', 'b2#1']);
    expect(meshModel(null, new Map(), now, 'b2').members).toEqual([]);
  });

  it('reads names and the broker of a session', () => {
    expect(nameOf('b0#abc')).toBe('b0');
    expect(brokerOfSession('b0#abc/Xyz')).toBe('b0#abc');
    expect(brokerOfSession('Xyz')).toBeNull();
  });
});

describe('the admin page files', () => {
  const dir = resolve(import.meta.dirname, '../../admin');
  const files = readdirSync(dir);

  it('has no inline script or style, parses no data as HTML and evaluates no code', () => {
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/admin/main.js">']);
    expect(html).not.toMatch(/<script[^>]*>[^<\s]/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(dir, file), 'utf8');
      expect(code, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(['"]on/);
    }
  });

  it('keeps every file small', () => {
    for (const file of files) expect(readFileSync(join(dir, file), 'utf8').split('\n').length, file).toBeLessThan(400);
  });
});
