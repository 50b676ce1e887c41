/**
 * Happened-before over messages, built from the logs alone (never from the vector clocks under
 * test), and the O2 check on top of it. Sets of messages are bitsets over the sent messages: the
 * closure holds up to n² pairs, and the check per delivery is a few word operations instead of a
 * walk over every ancestor, which keeps a run of thousands of messages well under a second.
 */
import type { MessageKey } from '../../../broker/core/log.js';
import { type Run, type Violation, violation } from './model.js';

type Bits = Uint32Array;

const bitsFor = (n: number): Bits => new Uint32Array(Math.ceil(n / 32));
const add = (b: Bits, i: number): void => {
  b[i >>> 5]! |= 1 << (i & 31);
};
const has = (b: Bits, i: number): boolean => (b[i >>> 5]! & (1 << (i & 31))) !== 0;
const orInto = (into: Bits, from: Bits): void => {
  for (let w = 0; w < into.length; w++) into[w]! |= from[w]!;
};

export interface Causality {
  /** Sent messages, in first-send order over members in sorted order; a message's bit is its index here. */
  keys: MessageKey[];
  index: Map<MessageKey, number>;
  /** ancestors[i]: every message that happened before keys[i]. */
  ancestors: Bits[];
}

/**
 * m → m' when the member that sent m' had sent m earlier or had delivered m before sending m'
 * (transitively), counting causal (cbcast) messages only: cbcast promises causal order among
 * cbcasts, and a chain through a fifo or total message carries no vector timestamp, so it is not
 * a causal dependency the protocol can see (Isis's cbcast is specified the same way). Direct
 * edges are the member's previous causal send and the causal messages it delivered since; the
 * closure supplies the rest. A cycle can only come from corrupt logs and is cut where found.
 */
export function happenedBefore(run: Run): Causality {
  const keys = [...run.sends.keys()];
  const index = new Map(keys.map((k, i) => [k, i]));
  const direct: number[][] = keys.map(() => []);
  for (const m of run.members) {
    let preds: number[] = [];
    for (const e of m.entries) {
      const i = (e.kind === 'deliver' || e.kind === 'send') && e.order === 'causal' ? index.get(e.msg) : undefined;
      // A delivery of a message never sent (D1) has no ancestors to pass on; it is left out.
      if (i === undefined) continue;
      if (e.kind === 'deliver') preds.push(i);
      if (e.kind === 'send') {
        if (run.sends.get(e.msg)?.entry === e) direct[i] = preds;
        preds = [i];
      }
    }
  }
  const ancestors: Array<Bits | undefined> = keys.map(() => undefined);
  const onStack = new Set<number>();
  // Iterative post-order: one member's chain of sends can run thousands deep.
  for (let root = 0; root < keys.length; root++) {
    const stack = [root];
    while (stack.length > 0) {
      const i = stack.at(-1)!;
      if (ancestors[i] !== undefined) {
        stack.pop();
        continue;
      }
      onStack.add(i);
      const pending = direct[i]!.filter((p) => ancestors[p] === undefined && !onStack.has(p));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      const anc = bitsFor(keys.length);
      for (const p of direct[i]!) {
        if (p === i || ancestors[p] === undefined) continue; // on the stack: a cycle
        add(anc, p);
        orInto(anc, ancestors[p]);
      }
      ancestors[i] = anc;
      onStack.delete(i);
      stack.pop();
    }
  }
  return { keys, index, ancestors: ancestors.map((a) => a ?? bitsFor(keys.length)) };
}

/** The first message in `need` that is not in `got`, or undefined when `need` ⊆ `got`. */
function firstMissing(need: Bits, mask: Bits, got: Bits): number | undefined {
  for (let w = 0; w < need.length; w++) {
    const lack = need[w]! & mask[w]! & ~got[w]!;
    if (lack !== 0) return w * 32 + (31 - Math.clz32(lack & -lack));
  }
  return undefined;
}

/** O2: if q delivered causal m' and causal m → m' was sent in the same view, q delivered m first. */
export function checkCausal(run: Run): Violation[] {
  const c = happenedBefore(run);
  // Per view, the causal messages sent in it: the only ancestors O2 asks for.
  const causalIn = new Map<number, Bits>();
  c.keys.forEach((k, i) => {
    const s = run.sends.get(k)!.entry;
    if (s.order !== 'causal') return;
    const mask = causalIn.get(s.view) ?? bitsFor(c.keys.length);
    add(mask, i);
    causalIn.set(s.view, mask);
  });
  const out: Violation[] = [];
  for (const q of run.members) {
    const delivered = bitsFor(c.keys.length);
    const ever = new Set(q.deliveries.map((d) => d.entry.msg));
    for (const { entry: d } of q.deliveries) {
      const i = c.index.get(d.msg);
      if (i === undefined) continue;
      const sent = run.sends.get(d.msg)!.entry;
      const mask = causalIn.get(sent.view);
      if (sent.order === 'causal' && mask !== undefined) {
        const lack = firstMissing(c.ancestors[i]!, mask, delivered);
        if (lack !== undefined) {
          const m = c.keys[lack]!;
          const how = ever.has(m) ? 'delivered after it' : 'never delivered';
          out.push(violation('O2', `${q.member} delivered ${d.msg} but ${how} ${m}, which happened before it (view ${sent.view})`));
        }
      }
      add(delivered, i);
    }
  }
  return out;
}

/** Whether m → m' in this run; for tests and for reading a report. */
export function precedes(c: Causality, m: MessageKey, later: MessageKey): boolean {
  const i = c.index.get(m);
  const j = c.index.get(later);
  return i !== undefined && j !== undefined && has(c.ancestors[j]!, i);
}
