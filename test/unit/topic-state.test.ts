// Proves the incremental state-size accounting: over seeded random sequences of state and patch
// messages, the tracked size always equals the encoded size, and the value equals a pure merge patch.
import { describe, expect, it } from 'vitest';
import { applyMergePatch, encode } from '../../client/protocol/index.js';
import { TopicState } from '../../broker/topics/topic-state.js';
import { prng } from '../helpers/prng.js';

function randomValue(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 2 || r < 0.3) return Math.floor(random() * 100_000) - 50;
  if (r < 0.45) return 'x'.repeat(Math.floor(random() * 40));
  if (r < 0.5) return null;
  if (r < 0.6) return [randomValue(random, depth + 1), randomValue(random, depth + 1)];
  const out: Record<string, unknown> = {};
  const n = Math.floor(random() * 25);
  for (let i = 0; i < n; i++) out[`k${Math.floor(random() * 30)}`] = randomValue(random, depth + 1);
  return out;
}

describe('TopicState', () => {
  it.each([1, 2, 3, 20261121])('tracks the encoded size exactly (seed %i)', (seed) => {
    const random = prng(seed);
    const state = new TopicState();
    let model: unknown = null;
    for (let step = 0; step < 400; step++) {
      const kind = random() < 0.15 ? 'state' : 'patch';
      const data = randomValue(random, 0);
      const prepared = state.prepare(kind, data);
      const next = kind === 'state' ? data : applyMergePatch(model, data);
      expect(prepared.bytes, `step ${step}`).toBe(encode(next).byteLength);
      if (random() < 0.9) {
        prepared.commit();
        model = next;
      }
      expect(state.value).toEqual(model);
      expect(state.bytes).toBe(encode(model).byteLength);
    }
  });

  it('does not change the state before commit', () => {
    const state = new TopicState();
    state.prepare('state', { a: 1 }).commit();
    state.prepare('patch', { a: null, b: 2 });
    expect(state.value).toEqual({ a: 1 });
  });

  it('patches a 20 000-key state by touching only the keys patched', () => {
    const state = new TopicState();
    const big: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) big[`key${i}`] = i;
    state.prepare('state', big).commit();
    const before = state.value;
    for (let i = 0; i < 1000; i++) state.prepare('patch', { key7: i, [`new${i}`]: true }).commit();
    expect(state.value).toBe(before); // changed in place, not copied
    expect(state.bytes).toBe(encode(state.value).byteLength);
  });
});
