// Which broker takes a group's stream over (broker/node/takeover-policy.ts): one that sent at least
// three quarters of the stream's messages since its last look, when there were enough of them and
// the stream is sequenced elsewhere — asked once a look, never by two brokers for one stream.
import { describe, expect, it } from 'vitest';
import type { MulticastOptions } from '../../broker/core/index.js';
import { TakeoverPolicy, takeoverDefaults } from '../../broker/node/takeover-policy.js';

const { lookMs: takeoverLookMs, messagesMin: takeoverMessagesMin } = takeoverDefaults;

function group(sequencer: string) {
  const asked: Array<{ payload: unknown; options: MulticastOptions }> = [];
  return {
    asked,
    g: { id: 'me#1', sequencerOf: () => sequencer, multicast: (payload: unknown, options: MulticastOptions) => (asked.push({ payload, options }), `me#1/${asked.length}`) },
  };
}

function feed(p: TakeoverPolicy, stream: number, own: number, others: number): void {
  for (let i = 0; i < own; i++) p.delivered(stream, true);
  for (let i = 0; i < others; i++) p.delivered(stream, false);
}

describe('TakeoverPolicy', () => {
  it('takes over a stream this broker sends three quarters of, once a look', () => {
    const p = new TakeoverPolicy();
    const { asked, g } = group('b2#1');
    feed(p, 7, 30, 10);
    feed(p, 8, 30, 11); // under three quarters
    feed(p, 9, takeoverMessagesMin - 1, 0); // too few to matter
    p.tick(takeoverLookMs - 1, g); // not time yet
    expect(asked).toEqual([]);
    p.tick(takeoverLookMs, g);
    expect(asked).toEqual([{ payload: { takeOver: 7 }, options: { order: 'total', safe: true, stream: 7, takeOver: true } }]);
    // The counts start again at every look: nothing new, nothing asked.
    p.tick(2 * takeoverLookMs, g);
    expect(asked).toHaveLength(1);
  });

  it('leaves a stream it sequences already, and a stream whose publishers are spread', () => {
    const p = new TakeoverPolicy();
    const mine = group('me#1');
    feed(p, 3, 100, 0);
    p.tick(takeoverLookMs, mine.g);
    expect(mine.asked).toEqual([]);
    const elsewhere = group('b2#1');
    feed(p, 3, 50, 50);
    p.tick(2 * takeoverLookMs, elsewhere.g);
    expect(elsewhere.asked).toEqual([]);
  });

  it('asks nothing out of the primary view, and forgets what it counted there', () => {
    const p = new TakeoverPolicy();
    feed(p, 3, 100, 0);
    p.tick(takeoverLookMs, undefined);
    const { asked, g } = group('b2#1');
    p.tick(2 * takeoverLookMs, g);
    expect(asked).toEqual([]);
  });
});
