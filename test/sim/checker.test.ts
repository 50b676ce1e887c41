// Proves the checker can both pass and fail: a hand-made good run yields no violation, and for each property of PROPERTIES.md a small hand-made log that breaks it is reported under exactly that property.
import { describe, expect, it } from 'vitest';
import type { MemberId } from '../../broker/core/log.js';
import { checkRun, formatViolations, happenedBefore, isPrimarySuccessor, precedes } from './checker.js';
import { indexRun } from './checker/model.js';
import { A, B, C, D, V1, V2, build, change, elided, got, properties, view, type Step } from './checker-logs.js';
import { bad } from './checker-bad-logs.js';

/** Three members over two views (c joins in the second) with every flavor, a safe message and a gbcast. */
const good: Record<MemberId, Step[]> = {
  [A]: [
    ['install', V1],
    ['send', 'a#1/1', 'fifo'],
    ['send', 'a#1/2', 'causal'],
    ['deliver', 'a#1/1'],
    ['deliver', 'a#1/2'],
    ['deliver', 'b#1/1', { streamPos: 1 }],
    ['send', 'a#1/3', 'group'],
    ['deliver', 'a#1/3'],
    ['deliver', 'b#1/2'],
    ['install', V2],
    ['state', 'install', 'd1'],
    ['send', 'a#1/4', 'total', { stream: 0 }],
    ['deliver', 'c#1/1'],
    ['deliver', 'a#1/4', { streamPos: 2 }],
    ['state', 'end', 'd2'],
  ],
  [B]: [
    ['install', V1],
    ['deliver', 'a#1/1'],
    ['deliver', 'a#1/2'],
    ['send', 'b#1/1', 'total', { stream: 0 }],
    ['deliver', 'b#1/1', { streamPos: 1 }],
    ['deliver', 'a#1/3'],
    ['send', 'b#1/2', 'causal', { safe: true }],
    ['deliver', 'b#1/2'],
    ['install', V2],
    ['state', 'install', 'd1'],
    ['deliver', 'c#1/1'],
    ['deliver', 'a#1/4', { streamPos: 2 }],
    ['state', 'end', 'd2'],
  ],
  [C]: [
    ['install', V2],
    ['state', 'install', 'd1'],
    ['send', 'c#1/1', 'fifo'],
    ['deliver', 'c#1/1'],
    ['deliver', 'a#1/4', { streamPos: 2 }],
    ['state', 'end', 'd2'],
  ],
};

describe('checker on good runs', () => {
  it('finds nothing wrong with a correct run of three members over two views', () => {
    const violations = checkRun({ logs: build(good), finalLive: [A, B, C] });
    expect(formatViolations(violations)).toBe('no violations');
  });

  it('accepts a crash, a half-sized primary holding the oldest member, and a total message delivered after the view change', () => {
    const W1 = view(1, [A, B, C, D]);
    const W2 = view(2, [A, B]);
    expect(isPrimarySuccessor(W1, W2)).toBe(true);
    const run: Record<MemberId, Step[]> = {
      [A]: [['install', W1], ['send', 'a#1/1', 'total', { stream: 0 }], ['install', W2], ['deliver', 'a#1/1', { streamPos: 1 }]],
      [B]: [['install', W1], ['install', W2], ['deliver', 'a#1/1', { streamPos: 1 }]],
      [C]: [['install', W1], ['crash']],
      [D]: [['install', W1], ['excluded']],
    };
    expect(properties(run, [A, B])).toEqual([]);
  });

  it('excuses a total message that a member sent and never saw come back because it crashed after the view change', () => {
    const run: Record<MemberId, Step[]> = {
      [A]: [['install', V1], ['send', 'a#1/1', 'total', { stream: 0 }], ['install', view(2, [A, B])], ['crash']],
      [B]: [['install', V1], ['install', view(2, [A, B])]],
    };
    expect(properties(run)).toEqual([]);
  });

  it('excuses an elided payload that only members cut off from the next view delivered (A1 compares the members that move on)', () => {
    // a sequenced a#1/1 for the audience {a, b} and delivered it; the copy with the payload never
    // reached b before a was cut off, so the survivors' flush relays a stub, which b (and c,
    // outside the audience) deliver. a is excluded in view 1: non-uniform delivery, as in D3.
    const W1 = view(1, [A, B, C]);
    const W2 = view(2, [B, C]);
    const run: Record<MemberId, Step[]> = {
      [A]: [['install', W1], change(A, 1), elided('a#1/2'), got('a#1/1'), got('b#1/1'), got('a#1/2'), ['excluded']],
      [B]: [['install', W1], change(B, 1), got('a#1/1'), got('b#1/1'), got('a#1/2', true), ['install', W2]],
      [C]: [['install', W1], got('a#1/1'), got('b#1/1'), got('a#1/2', true), ['install', W2]],
    };
    expect(properties(run, [B, C])).toEqual([]);
    // The other way round too: a member that crashed delivered a stub where the survivors got the payload.
    const other: Record<MemberId, Step[]> = {
      [A]: [['install', W1], change(A, 1), elided('a#1/2'), got('a#1/1'), got('b#1/1'), got('c#1/1'), got('a#1/2', true), ['crash']],
      [B]: [['install', W1], change(B, 1), got('a#1/1'), got('b#1/1'), got('c#1/1'), got('a#1/2'), ['install', W2]],
      [C]: [['install', W1], change(C, 1), got('a#1/1'), got('b#1/1'), got('c#1/1'), got('a#1/2'), ['install', W2]],
    };
    expect(properties(other, [B, C])).toEqual([]);
  });
});

describe('checker on bad runs', () => {
  it.each(bad)('reports $property when $why', ({ property, script, finalLive }) => {
    expect(properties(script, finalLive)).toEqual([property]);
  });

  it('covers every property of PROPERTIES.md with at least one bad log', () => {
    const covered = new Set(bad.map((c) => c.property));
    for (const p of ['M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'O1', 'O2', 'O3', 'O4', 'O5', 'A1', 'A2', 'D7', 'S1', 'S2', 'S3']) {
      expect(covered.has(p), p).toBe(true);
    }
  });

  it('recomputes audiences itself: an off-by-one stamp whose own flags agree with it is caught', () => {
    // a and c are the audience; a stamp one index off sends the payload to b (index 1) instead of
    // c (index 2), and the core's `audience` flags follow the same stamp, so they look consistent.
    const W = view(1, [A, B, C]);
    const script: Record<MemberId, Step[]> = {
      [A]: [['install', W], change(A, 1), elided('a#1/2'), got('a#1/1'), got('c#1/1'), ['deliver', 'a#1/2', { audience: true }]],
      [B]: [['install', W], got('a#1/1'), got('c#1/1'), ['deliver', 'a#1/2', { audience: true }]],
      [C]: [['install', W], change(C, 1), got('a#1/1'), got('c#1/1'), ['deliver', 'a#1/2', { audience: false, stub: true }]],
    };
    expect(properties(script)).toEqual(['A1', 'A2']);
  });

  it('derives happened-before from the logs alone, transitively and one way', () => {
    const c = happenedBefore(indexRun(build(bad.find((x) => x.why.startsWith('the causal chain'))!.script)));
    expect(precedes(c, 'a#1/1', 'b#1/1')).toBe(true);
    expect(precedes(c, 'a#1/1', 'c#1/1')).toBe(true);
    expect(precedes(c, 'c#1/1', 'a#1/1')).toBe(false);
    expect(precedes(c, 'a#1/1', 'a#1/1')).toBe(false);
  });

  it('does not carry causality through a non-causal message (cbcast orders cbcasts)', () => {
    const script = bad.find((x) => x.why.startsWith('the causal chain'))!.script;
    const throughTotal = Object.fromEntries(
      Object.entries(script).map(([member, entries]) => [member, entries.map((e) => (e[0] === 'send' && e[1] === 'b#1/1' ? ['send', 'b#1/1', 'total'] : e))]),
    ) as typeof script;
    const c = happenedBefore(indexRun(build(throughTotal)));
    expect(precedes(c, 'a#1/1', 'c#1/1')).toBe(false);
    expect(checkRun({ logs: build(throughTotal) }).map((v) => v.property)).not.toContain('O2');
  });

  it('excuses, for a member cut soon after a view change, only a total message sent before it', () => {
    const total = bad.find((c) => c.why === 'a sender moves on and never delivers its own total message')!.script;
    const fifo = bad.find((c) => c.why === 'a sender moves to the next view without delivering its own fifo message')!.script;
    const d5 = (script: Record<MemberId, Step[]>, cut: MemberId[]) => checkRun({ logs: build(script), cut: new Set(cut) }).filter((v) => v.property === 'D5').length;
    // The log ends in the view after the send: the copy sent again there may have been on its way.
    expect(d5(total, [A])).toBe(0);
    expect(d5(total, [])).toBe(1);
    expect(d5(total, [B])).toBe(1);
    // A fifo message belongs to its view whatever comes after.
    expect(d5(fifo, [A])).toBe(1);
    // A whole view went by after the one it was sent again in: no excuse.
    const twoLater = { [A]: [...total[A]!, ['install', view(3, [A])] as Step] };
    expect(d5(twoLater, [A])).toBe(1);
  });

  it('names the member, view and message in its report, and caps long reports', () => {
    const violations = checkRun({ logs: build(bad.find((c) => c.property === 'D5')!.script) });
    expect(formatViolations(violations)).toBe('D5: a#1 sent fifo a#1/1 in view 1, installed view 2, never delivered it in view 1');
    const many = Array.from({ length: 3 }, (_, i) => ({ property: 'D2', message: `m${i}` }));
    expect(formatViolations(many, 2)).toBe('D2: m0\nD2: m1\n... and 1 more');
  });
});
