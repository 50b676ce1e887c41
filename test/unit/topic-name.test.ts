// Proves topic-name validation and NATS-style wildcard matching against tables of cases.
import { describe, expect, it } from 'vitest';
import { checkTopic, matchTopic } from '../../client/protocol/index.js';

describe('checkTopic', () => {
  const cases: Array<[string, boolean, boolean | string]> = [
    // name, wildcards allowed, expected ok (true) or failure reason
    ['room', false, true],
    ['room.42.chat', false, true],
    ['a_b-c:d.E9', false, true],
    ['', false, 'empty'],
    ['room..42', false, 'bad-token'],
    ['.room', false, 'bad-token'],
    ['room.', false, 'bad-token'],
    ['room 42', false, 'bad-token'],
    ['room/42', false, 'bad-token'],
    ['röom', false, 'bad-token'],
    ['$sys.x', false, 'reserved'],
    ['$sys.x', true, 'reserved'],
    ['room.*', false, 'bad-wildcard'],
    ['room.*', true, true],
    ['room.>', true, true],
    ['>', true, true],
    ['*', true, true],
    ['room.>.x', true, 'bad-wildcard'],
    ['room.a*', true, 'bad-token'],
    ['room.>x', true, 'bad-token'],
    ['x'.repeat(255), false, true],
    ['x'.repeat(256), false, 'too-long'],
  ];
  it.each(cases)('%j (wildcards %s) → %s', (name, wildcards, expected) => {
    const result = checkTopic(name, wildcards);
    if (expected === true) expect(result.ok).toBe(true);
    else expect(result).toEqual({ ok: false, reason: expected });
  });

  it('refuses non-strings', () => {
    expect(checkTopic(42, true).ok).toBe(false);
    expect(checkTopic(null, true).ok).toBe(false);
  });

  it('says whether a pattern is a wildcard', () => {
    expect(checkTopic('a.*', true)).toEqual({ ok: true, wildcard: true });
    expect(checkTopic('a.b', true)).toEqual({ ok: true, wildcard: false });
  });
});

describe('matchTopic', () => {
  const cases: Array<[string, string, boolean]> = [
    ['room.42', 'room.42', true],
    ['room.42', 'room.43', false],
    ['room.*', 'room.42', true],
    ['room.*', 'room', false],
    ['room.*', 'room.42.chat', false],
    ['room.*.chat', 'room.42.chat', true],
    ['room.*.chat', 'room.42.voice', false],
    ['room.>', 'room.42', true],
    ['room.>', 'room.42.chat', true],
    ['room.>', 'room', false],
    ['>', 'anything.at.all', true],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['*.*', 'one.two', true],
    ['a.*.>', 'a.b', false],
    ['a.*.>', 'a.b.c', true],
  ];
  it.each(cases)('%s ~ %s → %s', (pattern, topic, expected) => {
    expect(matchTopic(pattern, topic)).toBe(expected);
  });
});
