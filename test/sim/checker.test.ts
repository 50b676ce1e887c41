// Proves the checker can both pass and fail: a hand-made good run yields no violation, and for each property of PROPERTIES.md a small hand-made log that breaks it is reported under exactly that property.
import { describe, expect, it } from 'vitest';
import type { LogEntry, MemberId, MessageKey, OrderFlavor, ViewRecord } from '../../broker/core/log.js';
import { checkRun, formatViolations, happenedBefore, isPrimarySuccessor, precedes } from './checker.js';
import { indexRun } from './checker/model.js';

const A = 'a#1';
const B = 'b#1';
const C = 'c#1';
const D = 'd#1';

const view = (id: number, members: MemberId[], primary = true): ViewRecord => ({ id, members, primary });

interface Overrides {
  safe?: boolean;
  stream?: number;
  streamPos?: number;
  /** Deliver only: replace what the builder derives (for logs that lie on purpose). */
  order?: OrderFlavor;
  sender?: MemberId;
  view?: number;
  /** Deliver only: an elided abcast — in the member's audience or not, and delivered as a stub or not. */
  audience?: boolean;
  stub?: true;
  /** Send only (total): an elided abcast, and one that brings its origin into or out of the stream's audience. */
  elide?: true;
  change?: 'add' | 'remove';
}

type Step =
  | readonly ['install', ViewRecord]
  | readonly ['send', MessageKey, OrderFlavor, Overrides?]
  | readonly ['deliver', MessageKey, Overrides?]
  | readonly ['crash' | 'excluded' | 'non-primary']
  /** The application's state digest at an install (the view just installed) or at the end (the current view). */
  | readonly ['state', 'install' | 'end', string];

/**
 * Builds logs from short scripts: a step's member and view come from the script it sits in, and a
 * delivery's flavor, safety and stream from the message's send step (or its overrides), its sender
 * and senderSeq from the key `${origin}/${n}`.
 */
function build(script: Record<MemberId, Step[]>): Map<MemberId, LogEntry[]> {
  const sent = new Map<MessageKey, { order: OrderFlavor; safe: boolean; stream?: number }>();
  for (const steps of Object.values(script)) {
    for (const s of steps) if (s[0] === 'send') sent.set(s[1], { order: s[2], safe: s[3]?.safe ?? false, stream: s[3]?.stream });
  }
  const logs = new Map<MemberId, LogEntry[]>();
  for (const [member, steps] of Object.entries(script)) {
    let current = 0;
    const log: LogEntry[] = [];
    for (const s of steps) {
      if (s[0] === 'install') {
        current = s[1].id;
        log.push({ kind: 'install', member, view: s[1] });
      } else if (s[0] === 'send') {
        const [, msg, order, o] = s;
        log.push({
          kind: 'send',
          member,
          msg,
          view: current,
          order,
          safe: o?.safe ?? false,
          ...(o?.stream === undefined ? {} : { stream: o.stream }),
          ...(o?.elide === undefined ? {} : { elide: o.elide }),
          ...(o?.change === undefined ? {} : { audience: o.change }),
        });
      } else if (s[0] === 'deliver') {
        const [, msg, o] = s;
        const [origin = '', n = '0'] = msg.split('/');
        const info = sent.get(msg);
        const stream = o?.stream ?? info?.stream;
        log.push({
          kind: 'deliver',
          member,
          msg,
          view: o?.view ?? current,
          order: o?.order ?? info?.order ?? 'fifo',
          safe: o?.safe ?? info?.safe ?? false,
          sender: o?.sender ?? origin,
          senderSeq: Number(n),
          ...(stream === undefined ? {} : { stream }),
          ...(o?.streamPos === undefined ? {} : { streamPos: o.streamPos }),
          ...(o?.audience === undefined ? {} : { audience: o.audience }),
          ...(o?.stub === undefined ? {} : { stub: o.stub }),
        });
      } else if (s[0] === 'state') {
        log.push({ kind: 'state', member, view: current, at: s[1], digest: s[2] });
      } else {
        log.push({ kind: s[0], member });
      }
    }
    logs.set(member, log);
  }
  return logs;
}

/** The distinct properties reported, sorted: a test names exactly the ones it expects. */
function properties(script: Record<MemberId, Step[]>, finalLive?: MemberId[]): string[] {
  const violations = checkRun({ logs: build(script), ...(finalLive === undefined ? {} : { finalLive }) });
  return [...new Set(violations.map((v) => v.property))].sort();
}

const V1 = view(1, [A, B]);
const V2 = view(2, [A, B, C]);

/** Stream 0: `member` comes into (or goes out of) the audience with its own abcast number `n`. */
const change = (member: MemberId, n: number, how: 'add' | 'remove' = 'add'): Step => ['send', `${member}/${n}`, 'total', { stream: 0, change: how }];
/** An elided abcast on stream 0. */
const elided = (key: MessageKey): Step => ['send', key, 'total', { stream: 0, elide: true }];
/** A delivery with the payload, or as a stub. */
const got = (key: MessageKey, stub = false): Step => ['deliver', key, stub ? { stub: true } : {}];

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

interface BadCase {
  property: string;
  why: string;
  script: Record<MemberId, Step[]>;
  finalLive?: MemberId[];
}

const bad: BadCase[] = [
  { property: 'LOG', why: 'a delivery names a view other than the installed one', script: { [A]: [['install', view(1, [A])], ['send', 'a#1/1', 'fifo'], ['deliver', 'a#1/1', { view: 7 }]] } },
  { property: 'LOG', why: 'a member sends after it crashed', script: { [A]: [['install', view(1, [A])], ['crash'], ['send', 'a#1/1', 'fifo']] } },
  { property: 'M1', why: 'a member installs a view without itself', script: { [A]: [['install', view(1, [B])]] } },
  { property: 'M2', why: 'view ids go backwards', script: { [A]: [['install', view(2, [A])], ['install', view(1, [A])]] } },
  {
    property: 'M3',
    why: 'a member sends before its first install',
    script: { [A]: [['send', 'a#1/1', 'fifo'], ['install', view(1, [A])], ['deliver', 'a#1/1']] },
  },
  { property: 'M4', why: 'two members install view 1 with different members', script: { [A]: [['install', view(1, [A, B])]], [B]: [['install', view(1, [A, B, C])]] } },
  {
    property: 'M5',
    why: 'the next primary keeps half the old view but not its oldest member',
    script: {
      [A]: [['install', view(1, [A, B, C, D])]],
      [B]: [['install', view(1, [A, B, C, D])]],
      [C]: [['install', view(1, [A, B, C, D])], ['install', view(2, [C, D])]],
      [D]: [['install', view(1, [A, B, C, D])], ['install', view(2, [C, D])]],
    },
  },
  {
    property: 'M5',
    why: "a member delivers after its own 'non-primary' entry",
    script: { [A]: [['install', view(1, [A])], ['send', 'a#1/1', 'fifo'], ['non-primary'], ['deliver', 'a#1/1']] },
  },
  {
    property: 'M5',
    why: 'a member delivers in a view marked non-primary',
    script: { [A]: [['install', view(1, [A], false)], ['send', 'a#1/1', 'fifo'], ['deliver', 'a#1/1']] },
  },
  {
    property: 'M6',
    why: 'a live member never got into the final view',
    script: { [A]: [['install', V1]], [B]: [['install', V1]] },
    finalLive: [A, B, C],
  },
  {
    property: 'M6',
    why: 'live members end in different views',
    script: { [A]: [['install', view(1, [A, B])], ['install', view(2, [A, B])]], [B]: [['install', view(1, [A, B])]] },
    finalLive: [A, B],
  },
  { property: 'D1', why: 'a delivered message was never sent', script: { [A]: [['install', view(1, [A])], ['deliver', 'x#1/1']] } },
  {
    property: 'D1',
    why: 'a delivery names the wrong sender',
    script: { [A]: [['install', V1], ['send', 'a#1/1', 'fifo']], [B]: [['install', V1], ['deliver', 'a#1/1', { sender: B }]] },
  },
  {
    property: 'D2',
    why: 'a member delivers a message twice',
    script: { [A]: [['install', view(1, [A])], ['send', 'a#1/1', 'fifo'], ['deliver', 'a#1/1'], ['deliver', 'a#1/1']] },
  },
  {
    property: 'D3',
    why: 'a message is delivered in view 1 at one member and view 2 at another',
    script: {
      [A]: [['install', view(1, [A])], ['send', 'a#1/1', 'fifo'], ['deliver', 'a#1/1'], ['install', view(2, [A, B])]],
      [B]: [['install', view(2, [A, B])], ['deliver', 'a#1/1']],
    },
  },
  {
    property: 'D4',
    why: 'two members move 1→2 having delivered different sets in view 1',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'fifo'], ['deliver', 'a#1/1'], ['install', view(2, [A, B])]],
      [B]: [['install', V1], ['install', view(2, [A, B])]],
    },
  },
  {
    property: 'D5',
    why: 'a sender moves to the next view without delivering its own fifo message',
    script: { [A]: [['install', view(1, [A])], ['send', 'a#1/1', 'fifo'], ['install', view(2, [A])]] },
  },
  {
    property: 'D5',
    why: 'a sender moves on and never delivers its own total message',
    script: { [A]: [['install', view(1, [A])], ['send', 'a#1/1', 'total', { stream: 0 }], ['install', view(2, [A])]] },
  },
  {
    property: 'D6',
    why: 'view 3 is entered from views 1 and 2, which share members',
    script: {
      [A]: [['install', view(1, [A, B, C])], ['install', view(3, [A, B, C])]],
      [B]: [['install', view(1, [A, B, C])], ['install', view(2, [A, B, C])], ['install', view(3, [A, B, C])]],
      [C]: [['install', view(1, [A, B, C])], ['install', view(2, [A, B, C])], ['install', view(3, [A, B, C])]],
    },
  },
  {
    property: 'O1',
    why: 'a receiver delivers one sender’s fifo messages out of send order',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'fifo'], ['send', 'a#1/2', 'fifo'], ['deliver', 'a#1/1'], ['deliver', 'a#1/2']],
      [B]: [['install', V1], ['deliver', 'a#1/2'], ['deliver', 'a#1/1']],
    },
  },
  {
    property: 'O1',
    why: 'a receiver skips a fifo message (a gap)',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'fifo'], ['send', 'a#1/2', 'fifo'], ['deliver', 'a#1/1'], ['deliver', 'a#1/2']],
      [B]: [['install', V1], ['deliver', 'a#1/2']],
    },
  },
  {
    property: 'O2',
    why: 'a receiver delivers a reply before the message it answers',
    script: {
      [A]: [['install', V2], ['send', 'a#1/1', 'causal'], ['deliver', 'a#1/1'], ['deliver', 'b#1/1']],
      [B]: [['install', V2], ['deliver', 'a#1/1'], ['send', 'b#1/1', 'causal'], ['deliver', 'b#1/1']],
      [C]: [['install', V2], ['deliver', 'b#1/1'], ['deliver', 'a#1/1']],
    },
  },
  {
    property: 'O2',
    why: 'the causal chain runs through a causal message of another member',
    script: {
      [A]: [['install', view(1, [A, B, C, D])], ['send', 'a#1/1', 'causal'], ['deliver', 'a#1/1'], ['deliver', 'b#1/1'], ['deliver', 'c#1/1']],
      [B]: [['install', view(1, [A, B, C, D])], ['deliver', 'a#1/1'], ['send', 'b#1/1', 'causal'], ['deliver', 'b#1/1'], ['deliver', 'c#1/1']],
      [C]: [['install', view(1, [A, B, C, D])], ['deliver', 'b#1/1'], ['send', 'c#1/1', 'causal'], ['deliver', 'c#1/1'], ['deliver', 'a#1/1']],
      [D]: [['install', view(1, [A, B, C, D])], ['deliver', 'b#1/1'], ['deliver', 'c#1/1'], ['deliver', 'a#1/1']],
    },
  },
  {
    property: 'O1',
    why: 'one origin’s abcasts on a stream delivered out of the order it sent them',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'total', { stream: 0 }], ['send', 'a#1/2', 'total', { stream: 0 }], ['deliver', 'a#1/2', { streamPos: 1 }], ['deliver', 'a#1/1', { streamPos: 2 }]],
      [B]: [['install', V1], ['deliver', 'a#1/2', { streamPos: 1 }], ['deliver', 'a#1/1', { streamPos: 2 }]],
    },
  },
  {
    property: 'O3',
    why: 'two members deliver a stream’s messages in different orders',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'total', { stream: 0 }], ['deliver', 'a#1/1', { streamPos: 1 }], ['deliver', 'b#1/1', { streamPos: 2 }]],
      [B]: [['install', V1], ['send', 'b#1/1', 'total', { stream: 0 }], ['deliver', 'b#1/1', { streamPos: 1 }], ['deliver', 'a#1/1', { streamPos: 2 }]],
    },
  },
  {
    property: 'O3',
    why: 'stream positions go backwards within a view',
    script: {
      [A]: [
        ['install', view(1, [A])],
        ['send', 'a#1/1', 'total', { stream: 0 }],
        ['send', 'a#1/2', 'total', { stream: 0 }],
        ['deliver', 'a#1/1', { streamPos: 2 }],
        ['deliver', 'a#1/2', { streamPos: 1 }],
      ],
    },
  },
  {
    property: 'O4',
    why: 'two members place a gbcast at different points among the other deliveries',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'group'], ['deliver', 'b#1/1'], ['deliver', 'a#1/1']],
      [B]: [['install', V1], ['send', 'b#1/1', 'fifo'], ['deliver', 'a#1/1'], ['deliver', 'b#1/1']],
    },
  },
  {
    property: 'O5',
    why: 'a safe message delivered by a member that then crashed is missing at the survivors',
    script: {
      [A]: [['install', view(1, [A, B, C])], ['send', 'a#1/1', 'fifo', { safe: true }], ['deliver', 'a#1/1'], ['crash']],
      [B]: [['install', view(1, [A, B, C])], ['install', view(2, [B, C])]],
      [C]: [['install', view(1, [A, B, C])], ['install', view(2, [B, C])]],
    },
  },
  {
    property: 'A1',
    why: 'two members of an elided message\'s audience deliver it differently (one gets the payload, one a stub)',
    script: {
      [A]: [['install', V1], change(A, 1), elided('a#1/2'), got('a#1/1'), got('b#1/1'), got('a#1/2')],
      [B]: [['install', V1], change(B, 1), got('a#1/1'), got('b#1/1'), got('a#1/2', true)],
    },
  },
  {
    property: 'A1',
    why: 'two members of an elided message\'s audience that move on together deliver it differently, though a third that was excluded is left out',
    script: {
      [A]: [['install', view(1, [A, B, C])], change(A, 1), elided('a#1/2'), got('a#1/1'), got('b#1/1'), got('c#1/1'), got('a#1/2'), ['excluded']],
      [B]: [['install', view(1, [A, B, C])], change(B, 1), got('a#1/1'), got('b#1/1'), got('c#1/1'), got('a#1/2', true), ['install', view(2, [B, C])]],
      [C]: [['install', view(1, [A, B, C])], change(C, 1), got('a#1/1'), got('b#1/1'), got('c#1/1'), got('a#1/2'), ['install', view(2, [B, C])]],
    },
  },
  {
    property: 'A1',
    why: 'a member that delivered an elided message as a stub moved on to the next view, and crashed only there',
    script: {
      [A]: [['install', V1], change(A, 1), elided('a#1/2'), got('a#1/1'), got('b#1/1'), got('a#1/2'), ['install', view(2, [A, B])]],
      [B]: [['install', V1], change(B, 1), got('a#1/1'), got('b#1/1'), got('a#1/2', true), ['install', view(2, [A, B])], ['crash']],
    },
  },
  {
    property: 'A2',
    why: 'a member outside an elided message\'s audience delivers its payload, even one excluded right after',
    script: {
      [A]: [['install', V1], change(A, 1), elided('a#1/2'), got('a#1/1'), got('a#1/2')],
      [B]: [['install', V1], got('a#1/1'), got('a#1/2'), ['excluded']],
    },
  },
  {
    property: 'A2',
    why: 'a member outside an elided message\'s audience delivers its payload',
    script: {
      [A]: [['install', V1], change(A, 1), elided('a#1/2'), got('a#1/1'), got('a#1/2')],
      [B]: [['install', V1], got('a#1/1'), got('a#1/2')],
    },
  },
  {
    property: 'A2',
    why: 'a member delivers an elided payload after its own removal from the audience was delivered',
    script: {
      [A]: [['install', V1], change(A, 1), change(A, 2, 'remove'), elided('a#1/3'), got('a#1/1'), got('a#1/2'), got('a#1/3')],
      [B]: [['install', V1], got('a#1/1'), got('a#1/2'), got('a#1/3', true)],
    },
  },
  {
    property: 'S1',
    why: 'two members move 1→2 holding different application states',
    script: {
      [A]: [['install', V1], ['install', view(2, [A, B])], ['state', 'install', 'x']],
      [B]: [['install', V1], ['install', view(2, [A, B])], ['state', 'install', 'y']],
    },
  },
  {
    property: 'S2',
    why: 'a joiner installs its first view with a state other than the one the members moving into it hold (it installed before its state was set)',
    script: {
      [A]: [['install', V1], ['install', V2], ['state', 'install', 'x']],
      [B]: [['install', V1], ['install', V2], ['state', 'install', 'x']],
      [C]: [['install', V2], ['state', 'install', 'empty']],
    },
  },
  {
    property: 'S3',
    why: 'the live members of the final view end with different application states',
    script: {
      [A]: [['install', V1], ['state', 'end', 'x']],
      [B]: [['install', V1], ['state', 'end', 'y']],
    },
    finalLive: [A, B],
  },
  {
    property: 'D7',
    why: 'a message of the final view is delivered by one of its members and never by the other (lost inside a view that never changes again)',
    script: {
      [A]: [['install', V1], ['send', 'a#1/1', 'fifo'], ['deliver', 'a#1/1']],
      [B]: [['install', V1]],
    },
    finalLive: [A, B],
  },
];

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

  it('names the member, view and message in its report, and caps long reports', () => {
    const violations = checkRun({ logs: build(bad.find((c) => c.property === 'D5')!.script) });
    expect(formatViolations(violations)).toBe('D5: a#1 sent fifo a#1/1 in view 1, installed view 2, never delivered it in view 1');
    const many = Array.from({ length: 3 }, (_, i) => ({ property: 'D2', message: `m${i}` }));
    expect(formatViolations(many, 2)).toBe('D2: m0\nD2: m1\n... and 1 more');
  });
});
