// The chaos run's own checks (observer.ts) against hand-made bad traffic: each kind of broken
// promise must be reported, and a correct stream must not be.
import { describe, expect, it } from 'vitest';
import { Observer } from './observer.js';

type M = Record<string, unknown>;
const sub = (id: number, topic: string, extra: M = {}): M => ({ type: 'sub', id, topic, ...extra });
const reply = (id: number, topic: string, seq: number, extra: M = {}): M => ({ type: 'reply', id, topic, seq, epoch: 'e1', ...extra });
const msg = (topic: string, seq: number, data: unknown = { n: seq }, kind = 'event'): M => ({ type: 'msg', topic, seq, kind, data, ts: 0 });

/** Runs one client's conversation: a list of [sent?, messages]; returns the violations. */
function run(steps: Array<['out' | 'in' | 'new', M[]]>, history = 1000): string[] {
  const o = new Observer(history);
  let conn = Observer.connection();
  let n = 0;
  for (const [dir, messages] of steps) {
    if (dir === 'new') {
      conn = Observer.connection();
      n++;
      continue;
    }
    if (dir === 'out') o.sent(conn, messages);
    else o.received('s0', `s0/c${n}`, conn, messages);
  }
  return o.violations;
}

describe('chaos observer', () => {
  it('accepts a subscribe, its messages, a failover and a recovered resume', () => {
    expect(run([
      ['out', [sub(1, 't', { state: true })]],
      ['in', [reply(1, 't', 2, { state: null }), msg('t', 3), msg('t', 4)]],
      ['new', []],
      ['out', [sub(1, 't', { since: 4, epoch: 'e1' })]],
      ['in', [reply(1, 't', 4, { recovered: true }), msg('t', 5)]],
    ])).toEqual([]);
  });

  it('reports a gap, a seq twice and a message before its reply', () => {
    expect(run([['out', [sub(1, 't')]], ['in', [reply(1, 't', 0), msg('t', 1), msg('t', 3)]]]).join()).toMatch(/gap on the wire, seq 3 after 1/);
    expect(run([['out', [sub(1, 't')]], ['in', [reply(1, 't', 0), msg('t', 1), msg('t', 1)]]]).join()).toMatch(/seq 1 on the wire again/);
    expect(run([['out', [sub(1, 't')]], ['in', [msg('t', 1), reply(1, 't', 1)]]]).join()).toMatch(/before the subscribe reply/);
  });

  it('reports a resume answered older, or not recovered though history reaches back, or recovered elsewhere', () => {
    const resumed = (r: M): string => run([
      ['out', [sub(1, 't')]],
      ['in', [reply(1, 't', 0), msg('t', 1), msg('t', 2)]],
      ['new', []],
      ['out', [sub(1, 't', { since: 2, epoch: 'e1' })]],
      ['in', [r]],
    ]).join();
    expect(resumed(reply(1, 't', 1, { recovered: false, state: null }))).toMatch(/at an older seq 1/);
    expect(resumed(reply(1, 't', 9, { recovered: false, state: null }))).toMatch(/though history \(1000\) reaches back/);
    expect(resumed(reply(1, 't', 3, { recovered: true }))).toMatch(/answered recovered at seq 3/);
    expect(resumed(reply(1, 't', 9, { recovered: false, epoch: 'e2', state: null }))).toMatch(/new epoch/);
  });

  it('reports two different messages at one seq, and an application that sees a gap or a repeat', () => {
    const o = new Observer(1000);
    o.see('a', 't', 1, 'state', { x: 1 });
    o.see('b', 't', 1, 'state', { x: 2 });
    expect(o.violations.join()).toMatch(/two messages at t seq 1/);
    const p = new Observer(1000);
    const a = p.app('s0', 't');
    p.delivered(a, 1, 'event', 1);
    p.delivered(a, 3, 'event', 3);
    p.delivered(a, 3, 'event', 3);
    expect(p.violations).toHaveLength(2);
    p.resynced(a, false, 10);
    p.delivered(a, 11, 'event', 11);
    expect(p.violations).toHaveLength(2);
  });

  it('folds state and patch messages, and reports a snapshot that is not the fold', () => {
    const o = new Observer(1000);
    o.see('a', 't', 1, 'state', { a: 1, b: 1 });
    o.see('a', 't', 2, 'patch', { b: null, c: 3 });
    o.see('a', 't', 3, 'event', { ignored: true });
    expect(o.fold('t', 3)).toEqual({ state: { a: 1, c: 3 } });
    expect(o.fold('t', 4)).toEqual({ missing: 4 });
    const conn = Observer.connection();
    o.sent(conn, [sub(1, 't', { state: true })]);
    o.received('s0', 's0/c0', conn, [reply(1, 't', 2, { state: { a: 1, b: 1 } })]);
    o.checkSnapshots();
    expect(o.violations.join()).toMatch(/snapshot at seq 2/);
  });
});
