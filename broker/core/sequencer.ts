/**
 * The abcast sequencer's bookkeeping. Each origin numbers its abcasts per
 * stream (`streamSeq`); a stream's sequencer forwards them in that order —
 * one that comes early waits for the ones before it, one already forwarded
 * or delivered is a retry — and gives each its position in the stream. Every
 * member records how far each origin's lane was delivered (the same at every
 * member), which is where a new view's sequencer resumes; joiners are told
 * in their install.
 */
import type { MemberId } from './log.js';
import type { DataMessage, OrderRequest } from './messages.js';

export class AbcastLanes {
  /** Per `origin|stream`: the highest streamSeq delivered here. */
  private readonly delivered = new Map<string, number>();
  /** At a sequencer, in this view: the highest forwarded per lane, requests waiting, positions per stream. */
  private readonly forwarded = new Map<string, number>();
  private readonly waiting = new Map<string, Map<number, OrderRequest>>();
  private readonly positions = new Map<number, number>();

  constructor(private readonly waitingMax: number) {}

  /**
   * Takes a request at the stream's sequencer; returns the requests that may go out now, in
   * order, each with its stream position.
   */
  admit(r: OrderRequest): Array<{ request: OrderRequest; position: number }> {
    const lane = `${r.origin}|${r.stream}`;
    const next = Math.max(this.forwarded.get(lane) ?? 0, this.delivered.get(lane) ?? 0) + 1;
    if (r.streamSeq < next) return [];
    let waiting = this.waiting.get(lane);
    if (waiting === undefined) this.waiting.set(lane, (waiting = new Map()));
    if (waiting.size < this.waitingMax) waiting.set(r.streamSeq, r);
    const out: Array<{ request: OrderRequest; position: number }> = [];
    for (let seq = next, ready = waiting.get(seq); ready !== undefined; seq++, ready = waiting.get(seq)) {
      waiting.delete(seq);
      this.forwarded.set(lane, seq);
      const position = (this.positions.get(ready.stream) ?? 0) + 1;
      this.positions.set(ready.stream, position);
      out.push({ request: ready, position });
    }
    if (waiting.size === 0) this.waiting.delete(lane);
    return out;
  }

  onDelivered(origin: MemberId, stream: number, streamSeq: number): void {
    const lane = `${origin}|${stream}`;
    this.delivered.set(lane, Math.max(this.delivered.get(lane) ?? 0, streamSeq));
  }

  /**
   * This member takes over sequencing `stream` after the message at `position` (delivered here,
   * with everything sequenced before it): it counts on from there, and forgets what it forwarded or
   * kept waiting for the stream when it sequenced it before (each origin hands its requests not yet
   * delivered to it again).
   */
  resume(stream: number, position: number): void {
    this.positions.set(stream, position);
    const suffix = `|${stream}`;
    for (const lane of [...this.forwarded.keys()]) if (lane.endsWith(suffix)) this.forwarded.delete(lane);
    for (const lane of [...this.waiting.keys()]) if (lane.endsWith(suffix)) this.waiting.delete(lane);
  }

  /** A new view: sequencing restarts from what was delivered; lanes of members gone are forgotten. */
  onInstall(members: readonly MemberId[]): void {
    this.forwarded.clear();
    this.waiting.clear();
    this.positions.clear();
    for (const lane of [...this.delivered.keys()]) if (!members.includes(lane.slice(0, lane.lastIndexOf('|')))) this.delivered.delete(lane);
  }

  snapshot(): Array<[string, number]> {
    return [...this.delivered];
  }

  restore(lanes: ReadonlyArray<[string, number]>): void {
    for (const [lane, seq] of lanes) this.delivered.set(lane, seq);
  }
}

/** The data message a sequencer multicasts for a request at `position` (with its audience stamp, if elided). */
export function sequencedFields(r: OrderRequest, position: number, audience: number[] | undefined): Omit<DataMessage, 'kind' | 'view' | 'sender' | 'seq'> {
  const fields: Omit<DataMessage, 'kind' | 'view' | 'sender' | 'seq'> = {
    order: 'total',
    safe: r.safe,
    origin: r.origin,
    key: r.key,
    originSeq: r.originSeq,
    stream: r.stream,
    streamPos: position,
    streamSeq: r.streamSeq,
    payload: r.payload,
  };
  if (audience !== undefined) fields.audience = audience;
  if (r.audience !== undefined) fields.audienceChange = r.audience;
  if (r.takeOver === true) fields.takeOver = true;
  return fields;
}
