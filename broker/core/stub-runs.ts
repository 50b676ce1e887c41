/**
 * Stubs in runs, on the wire. A member outside an elided stream's audience gets a stub for every
 * message of that stream (audience.ts): its channel stays gap-free, and it learns each message's
 * key, origin and stream position, which it needs to deliver in order, to drop a duplicate after a
 * view change and to sequence the stream should it become its sequencer. As an object a stub is
 * ~190 bytes of msgpack — field names, the sender's and origin's ids as strings, the key — so a
 * broker holding nothing of a group still received a fifth of the group's bytes.
 *
 * Consecutive stubs of one sender to one destination in one batch therefore travel as one run:
 * the fields they share once (view, sender, first seq), the ids and audience stamps in small
 * tables, and seven numbers per stub — plus, in a list beside them, the size of the payload each
 * stands for where its sender gave one (messages.ts `size`). The receiver's wire expands the run back into the very
 * stubs that were folded — the member never sees a run, and nothing above the wire changes (a
 * unit test folds and expands random batches and compares). Only stubs whose every field can be
 * rebuilt exactly are folded (an abcast stub with the usual `origin/originSeq` key, no audience
 * change); any other message, or a stub that breaks the sequence, ends the run.
 */
import type { MemberId } from './log.js';
import type { DataMessage, PeerMessage, StubRun } from './messages.js';

export type { StubRun };

/** Numbers per stub in `StubRun.at`. */
const width = 7;
/** At most this many stubs in one run, and ids or stamps in its tables. */
export const stubRunMax = 65_536;


/** The keys of a stub that folds: exactly these, none other. */
const stubKeys = new Set(['kind', 'view', 'sender', 'seq', 'order', 'safe', 'origin', 'key', 'originSeq', 'stream', 'streamPos', 'streamSeq', 'audience', 'stub', 'payload']);

function foldable(m: PeerMessage): m is DataMessage & { stream: number; streamPos: number; streamSeq: number; audience: number[] } {
  if (m.kind !== 'data' || m.stub !== true || m.order !== 'total' || m.payload !== null) return false;
  if (!isCount(m.stream) || !isCount(m.streamPos) || !isCount(m.streamSeq) || !isCount(m.originSeq) || !isCount(m.seq) || m.audience === undefined) return false;
  if (m.key !== `${m.origin}/${m.originSeq}`) return false;
  if (m.size !== undefined && !isCount(m.size)) return false;
  let n = 0;
  for (const k in m) {
    if (!stubKeys.has(k) && k !== 'size') return false;
    n++;
  }
  return n === stubKeys.size + (m.size === undefined ? 0 : 1);
}

/** `messages` (to one destination, in order) with consecutive stubs of one sender folded into runs. */
export function foldStubs(messages: readonly PeerMessage[]): Array<PeerMessage | StubRun> {
  const out: Array<PeerMessage | StubRun> = [];
  let run: StubRun | undefined;
  let origins = new Map<MemberId, number>();
  let stamps = new Map<string, number>();
  let count = 0;
  /** Where each run stands in `out`, and its first stub (a run of one goes as that stub). */
  const runs: Array<{ at: number; first: PeerMessage }> = [];
  for (const m of messages) {
    if (!foldable(m)) {
      run = undefined;
      out.push(m);
      continue;
    }
    const sized = m.size !== undefined;
    if (run === undefined || m.view !== run.view || m.sender !== run.sender || m.seq !== run.seq + count || count >= stubRunMax || origins.size >= stubRunMax || sized !== (run.sizes !== undefined)) {
      run = { kind: 'stubs', view: m.view, sender: m.sender, seq: m.seq, origins: [], stamps: [], at: [] };
      if (sized) run.sizes = [];
      origins = new Map();
      stamps = new Map();
      count = 0;
      runs.push({ at: out.length, first: m });
      out.push(run);
    }
    let origin = origins.get(m.origin);
    if (origin === undefined) {
      origins.set(m.origin, (origin = run.origins.length));
      run.origins.push(m.origin);
    }
    const stampKey = m.audience.join(',');
    let stamp = stamps.get(stampKey);
    if (stamp === undefined) {
      stamps.set(stampKey, (stamp = run.stamps.length));
      run.stamps.push(m.audience);
    }
    run.at.push(m.safe ? 1 : 0, m.stream, m.streamPos, origin, m.originSeq, m.streamSeq, stamp);
    if (sized) run.sizes!.push(m.size!);
    count++;
  }
  // Nothing to fold: the batch as it was. A run of one stub is no smaller than the stub: it goes as it is.
  if (runs.length === 0) return messages as PeerMessage[];
  for (const r of runs) if ((out[r.at] as StubRun).at.length === width) out[r.at] = r.first;
  return out;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The stubs a run stands for, in order — or undefined when it is malformed (the wire counts and
 * drops it; each stub is checked as any data message afterwards).
 */
export function expandRun(value: unknown): DataMessage[] | undefined {
  const r = value as Partial<StubRun>;
  if (!isCount(r.view) || typeof r.sender !== 'string' || !isCount(r.seq) || r.seq < 1) return undefined;
  if (!Array.isArray(r.origins) || r.origins.length > stubRunMax || !r.origins.every((o) => typeof o === 'string')) return undefined;
  if (!Array.isArray(r.stamps) || r.stamps.length > stubRunMax || !r.stamps.every((s) => Array.isArray(s) && s.length <= 4096 && s.every(isCount))) return undefined;
  const at = r.at;
  if (!Array.isArray(at) || at.length === 0 || at.length % width !== 0 || at.length > width * stubRunMax || !at.every(isCount)) return undefined;
  if (!Number.isSafeInteger(r.seq + at.length / width)) return undefined;
  const sizes = r.sizes;
  if (sizes !== undefined && (!Array.isArray(sizes) || sizes.length !== at.length / width || !sizes.every(isCount))) return undefined;
  const out: DataMessage[] = [];
  for (let i = 0; i < at.length; i += width) {
    const origin = r.origins[at[i + 3]!];
    const audience = r.stamps[at[i + 6]!];
    if (at[i]! > 1 || origin === undefined || audience === undefined) return undefined;
    const originSeq = at[i + 4]!;
    const stub: DataMessage = {
      kind: 'data',
      view: r.view,
      sender: r.sender,
      seq: r.seq + i / width,
      order: 'total',
      safe: at[i] === 1,
      origin,
      key: `${origin}/${originSeq}`,
      originSeq,
      stream: at[i + 1]!,
      streamPos: at[i + 2]!,
      streamSeq: at[i + 5]!,
      audience,
      stub: true,
      payload: null,
    };
    if (sizes !== undefined) stub.size = sizes[i / width]!;
    out.push(stub);
  }
  return out;
}
