/**
 * Short scripts that build core-group logs for the checker's own tests: a step's member and view
 * come from the script it sits in, a delivery's flavor from its message's send step.
 */
import type { LogEntry, MemberId, MessageKey, OrderFlavor, ViewRecord } from '../../broker/core/log.js';
import { checkRun } from './checker.js';

export const A = 'a#1';
export const B = 'b#1';
export const C = 'c#1';
export const D = 'd#1';

export const view = (id: number, members: MemberId[], primary = true): ViewRecord => ({ id, members, primary });

export interface Overrides {
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

export type Step =
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
export function build(script: Record<MemberId, Step[]>): Map<MemberId, LogEntry[]> {
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
export function properties(script: Record<MemberId, Step[]>, finalLive?: MemberId[]): string[] {
  const violations = checkRun({ logs: build(script), ...(finalLive === undefined ? {} : { finalLive }) });
  return [...new Set(violations.map((v) => v.property))].sort();
}

export const V1 = view(1, [A, B]);
export const V2 = view(2, [A, B, C]);

/** Stream 0: `member` comes into (or goes out of) the audience with its own abcast number `n`. */
export const change = (member: MemberId, n: number, how: 'add' | 'remove' = 'add'): Step => ['send', `${member}/${n}`, 'total', { stream: 0, change: how }];
/** An elided abcast on stream 0. */
export const elided = (key: MessageKey): Step => ['send', key, 'total', { stream: 0, elide: true }];
/** A delivery with the payload, or as a stub. */
export const got = (key: MessageKey, stub = false): Step => ['deliver', key, stub ? { stub: true } : {}];

