/**
 * A bad log for every property the checker reports: each must be caught, alone (checker.test.ts).
 */
import type { MemberId } from '../../broker/core/log.js';
import { A, B, C, D, V1, V2, change, elided, got, view, type Step } from './checker-logs.js';

export interface BadCase {
  property: string;
  why: string;
  script: Record<MemberId, Step[]>;
  finalLive?: MemberId[];
}

export const bad: BadCase[] = [
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

