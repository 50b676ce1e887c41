/**
 * What clients are promised, checked over a whole run (the core's own
 * properties are checked beside it, over the brokers' core logs):
 * T1 one topic order: each (topic, epoch, seq) names one command — the same
 *    data at every broker's copy, every subscriber, and in every publish ack;
 * T2 no gap, no duplicate: each subscription hands the application its
 *    snapshot's seq s, then exactly s+1, s+2, … — a resume either continues or
 *    says `recovered: false`, and that only when its topic's epoch changed (the
 *    topic was lost with every copy; histories here never run out);
 * T3 every acknowledged publish reaches every subscription that is active at
 *    the end and started before it, with its data;
 * T4 no publish applied twice: one seq per (client, publish id) in a topic's epoch;
 * T5 state is the fold of the sequence: every copy's and every subscriber's
 *    state equals the last `state` command's data with every later `patch`
 *    merged in, up to its seq;
 * T6 no subscription ended by the library, no publish refused for good.
 * Each predicate is proven to fail on a hand-made bad record (whole.test.ts).
 */
import { applyMergePatch } from '../../../client/protocol/index.js';
import type { Ack, SubscriptionRecord } from './clients.js';

export interface TopicCopy {
  broker: string;
  topic: string;
  epoch: string;
  seq: number;
  state: unknown;
  /** The history this copy keeps: seq → data and kind. */
  history: Array<{ seq: number; data: unknown; kind: string }>;
}

export interface TopicRun {
  subscriptions: SubscriptionRecord[];
  acks: Ack[];
  publishErrors: string[];
  copies: TopicCopy[];
}

export interface TopicViolation {
  property: string;
  message: string;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function checkTopics(run: TopicRun): TopicViolation[] {
  const out: TopicViolation[] = [];
  const v = (property: string, message: string): void => void out.push({ property, message });

  // T1: (topic, epoch, seq) → one command. A subscriber's delivery is in the epoch its subscription
  // was in when it was handed over; an ack names no epoch: it is taken to be the last one's.
  const commands = new Map<string, { data: unknown; kind: string; where: string }>();
  const note = (topic: string, epoch: string, seq: number, data: unknown, kind: string, where: string): void => {
    const key = `${topic}|${epoch}|${seq}`;
    const seen = commands.get(key);
    if (seen === undefined) commands.set(key, { data, kind, where });
    else if (!same(seen.data, data) || seen.kind !== kind) v('T1', `${topic} seq ${seq} (epoch ${epoch}) is ${JSON.stringify(seen.data)} at ${seen.where} but ${JSON.stringify(data)} at ${where}`);
  };
  for (const copy of run.copies) for (const h of copy.history) note(copy.topic, copy.epoch, h.seq, h.data, h.kind, `broker ${copy.broker}`);
  for (const s of run.subscriptions) for (const d of s.delivered) note(s.topic, d.epoch, d.seq, d.data, d.kind, `subscriber ${s.client}`);
  const epochOf = new Map<string, string>();
  for (const copy of run.copies) epochOf.set(copy.topic, copy.epoch);
  for (const a of run.acks) {
    const epoch = epochOf.get(a.topic);
    if (epoch !== undefined) note(a.topic, epoch, a.seq, a.data, a.kind, `the ack to ${a.client}`);
  }

  // T2 and T6: each subscription, as the application saw it.
  for (const s of run.subscriptions) {
    for (const e of s.errors) v(e.startsWith('ended') ? 'T6' : 'T2', `${s.client} ${s.topic}: ${e}`);
    // Epochs as the subscription learned them: from replies, and from messages (a subscribe to a
    // topic not created yet is answered without one).
    const epochs = new Set(s.wire.map((w) => w.epoch ?? '').filter((e) => e !== ''));
    for (const r of s.resyncs) if (!r.recovered && epochs.size <= 1) v('T2', `${s.client} ${s.topic}: a resume was answered recovered: false at seq ${r.seq} although the topic never changed epoch`);
    let expected = s.firstSeq;
    for (const d of s.delivered) {
      if (expected !== undefined && d.seq !== expected + 1 && s.resyncs.every((r) => r.recovered)) v('T2', `${s.client} ${s.topic}: seq ${d.seq} handed to the application after ${expected}`);
      expected = d.seq;
    }
  }

  // T3: every ack reaches every subscription that is active at the end and started before it.
  for (const a of run.acks) {
    for (const s of run.subscriptions) {
      if (s.topic !== a.topic || !s.sub.active || s.firstSeq === undefined || s.firstSeq >= a.seq) continue;
      if (s.resyncs.some((r) => !r.recovered)) continue; // history no longer reached back: T2 judges that
      const got = s.delivered.find((d) => d.seq === a.seq);
      if (got === undefined) v('T3', `${s.client} ${s.topic} never got seq ${a.seq}, acknowledged to ${a.client} (pid ${a.pid}); it is at seq ${s.sub.seq}`);
      else if (!same(got.data, a.data)) v('T3', `${s.client} ${s.topic} got ${JSON.stringify(got.data)} at seq ${a.seq}, acknowledged to ${a.client} as ${JSON.stringify(a.data)}`);
    }
  }

  // T4: one seq per (client, pid) in a topic's life (epoch), in acks and in every copy and
  // subscriber. A new epoch is a new life: a group that came back to a copy behind what its
  // subscribers saw starts its topics again under new epochs, without the publishes nobody
  // acknowledged, which their clients then publish again.
  const seqOf = new Map<string, number>();
  const pidSeen = (data: unknown, topic: string, epoch: string | undefined, seq: number, where: string): void => {
    const d = data as { c?: unknown; n?: unknown } | null;
    if (typeof d?.c !== 'string' || typeof d.n !== 'number') return;
    const key = `${topic}|${epoch ?? ''}|${d.c}|${d.n}`;
    const before = seqOf.get(key);
    if (before === undefined) seqOf.set(key, seq);
    else if (before !== seq) v('T4', `publish ${d.c}/${d.n} to ${topic} applied at seq ${before} and again at seq ${seq} (${where})`);
  };
  for (const a of run.acks) pidSeen(a.data, a.topic, epochOf.get(a.topic), a.seq, `the ack to ${a.client}`);
  for (const copy of run.copies) for (const h of copy.history) pidSeen(h.data, copy.topic, copy.epoch, h.seq, `broker ${copy.broker}`);
  for (const s of run.subscriptions) for (const d of s.delivered) pidSeen(d.data, s.topic, d.epoch, d.seq, `subscriber ${s.client}`);

  // T5: state = the fold of the sequence up to the copy's seq: from the last `state` command (or
  // nothing), each later `patch` merged in (RFC 7386), events leaving it.
  const stateAt = (topic: string, epoch: string, seq: number): { known: boolean; state: unknown } => {
    const patches: unknown[] = [];
    let base: unknown = null;
    for (let q = seq; q >= 1; q--) {
      const c = commands.get(`${topic}|${epoch}|${q}`);
      if (c === undefined) return { known: false, state: undefined };
      if (c.kind === 'state') {
        base = c.data;
        break;
      }
      if (c.kind === 'patch') patches.unshift(c.data);
    }
    return { known: true, state: patches.reduce((state, patch) => applyMergePatch(state, patch), base) };
  };
  for (const copy of run.copies) {
    const want = stateAt(copy.topic, copy.epoch, copy.seq);
    if (want.known && !same(want.state ?? null, copy.state ?? null)) v('T5', `broker ${copy.broker} holds state ${JSON.stringify(copy.state)} for ${copy.topic} at seq ${copy.seq}; the sequence folds to ${JSON.stringify(want.state)}`);
  }
  for (const s of run.subscriptions) {
    if (!s.sub.active || s.sub.pending) continue;
    const want = stateAt(s.topic, s.sub.epoch, s.sub.seq);
    if (want.known && !same(want.state ?? null, s.sub.state ?? null)) v('T5', `${s.client} holds state ${JSON.stringify(s.sub.state)} for ${s.topic} at seq ${s.sub.seq}; the sequence folds to ${JSON.stringify(want.state)}`);
  }

  for (const e of run.publishErrors) v('T6', e);
  return out;
}
