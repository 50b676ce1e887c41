// Found by the chaos run (seeds 1, 2 and 4 of `npm run chaos -- --seeds 10 --seconds 60`): a
// publish's data must never be changed by the topic layer. A `state` publish's data became the
// state by reference, and a later `patch` was merged into that very object (topic-state.ts patches
// the state's top-level map in place, by design); the core group's sequencer keeps its own
// messages in full and encodes them again when it retransmits them (to a broker that missed them
// across a cut link, a SIGSTOP, a dropped link) or forwards them in a flush — so a broker that got
// seq s again delivered it with the state after s+1 … as its data: two different messages at one
// seq (chaos.t2 seq 86: {"id":"0.391","s":391} at most subscribers, {"id":"3.401","s":391,"k1":401}
// — the same merged with seq 87's patch — at a subscriber that failed over).
import { describe, expect, it } from 'vitest';
import { encode } from '../../client/protocol/index.js';
import { TopicState } from '../../broker/topics/topic-state.js';

describe('topic state (found by the chaos run)', () => {
  it('a patch leaves the data of the state publish before it unchanged', () => {
    const state = new TopicState();
    const published = { id: '0.391', s: 391, nested: { a: 1 } };
    const sent = encode(published);
    state.prepare('state', published).commit();
    state.prepare('patch', { id: '3.401', k1: 401, s: null, nested: { b: 2 } }).commit();
    // The command's data (what a retransmission encodes again) is what was published.
    expect(Buffer.from(encode(published)).equals(Buffer.from(sent))).toBe(true);
    expect(published).toEqual({ id: '0.391', s: 391, nested: { a: 1 } });
    expect(state.value).toEqual({ id: '3.401', nested: { a: 1, b: 2 }, k1: 401 });
    expect(state.bytes).toBe(encode(state.value).byteLength);
    // Patch after patch, the published map stays as it was.
    state.prepare('patch', { k1: null, k2: 'x' }).commit();
    expect(published).toEqual({ id: '0.391', s: 391, nested: { a: 1 } });
    expect(state.value).toEqual({ id: '3.401', nested: { a: 1, b: 2 }, k2: 'x' });
    expect(state.bytes).toBe(encode(state.value).byteLength);
  });
});
