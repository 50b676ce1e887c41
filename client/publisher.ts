/**
 * Publishes in flight: each gets a publish id (pid), increasing per client
 * instance, and stays here until the broker answers. After a reconnect every
 * unanswered publish is sent again, in order, with its pid, and the broker
 * applies a pid once — so a publish issued once is applied once. The queue
 * (in flight plus waiting for a connection) is bounded by `publishQueueMax` and, in payload
 * bytes, by `publishBytesMax`: flow control by bytes in flight, under the broker's count.
 */
import { QueueFullError, RequestError } from './errors.js';
import { ErrorCode } from './protocol/index.js';
import type { MessageKind } from './protocol/index.js';

export interface PublishResult {
  seq: number;
}

export interface PendingPublish {
  pid: number;
  topic: string;
  kind: MessageKind;
  /** The payload, encoded once when the publish was checked: every send (and resend) reuses it. */
  data: Uint8Array;
  resolve(result: PublishResult): void;
  reject(error: Error): void;
  promise: Promise<PublishResult>;
}

export class PublishQueue {
  private readonly pending = new Map<number, PendingPublish>();
  /**
   * Publish ids start from the clock (µs-scaled ms), not from 1: an app that
   * passes a fixed `clientId` and restarts must not reuse a pid the broker
   * still remembers, or its new publish would be taken for a retry.
   */
  private pidLast = Date.now() * 1000;

  /** Publishes without acknowledgement waiting for a connection (bounded: the oldest go first). */
  private fired: Uint8Array[] = [];

  /** Payload bytes of the publishes in `pending`. */
  private bytes = 0;

  constructor(
    private readonly queueMax: number,
    private readonly bytesMax: number,
  ) {}

  /** A publish without acknowledgement: sent now when connected (`version` from the welcome), else kept (at most 1,024) for the next connection. */
  fire(encoded: Uint8Array, link: { send(message: Uint8Array): void } | undefined, version: number | undefined): Promise<void> {
    if (link !== undefined && version !== undefined) {
      if (version < 2) return Promise.reject(new RequestError(ErrorCode.BadRequest, 'this broker speaks protocol 1, which acknowledges every publish: publish with ack'));
      link.send(encoded);
    } else {
      if (this.fired.length >= firedMax) this.fired.shift();
      this.fired.push(encoded);
    }
    return Promise.resolve();
  }

  /** A new connection: what was fired meanwhile goes out (a broker of protocol 1 takes no such publish). */
  sendFired(link: { send(message: Uint8Array): void }, unacknowledgedOk: boolean, refused: (err: Error) => void): void {
    const fired = this.fired;
    this.fired = [];
    if (fired.length === 0) return;
    if (!unacknowledgedOk) return refused(new RequestError(ErrorCode.BadRequest, `${fired.length} publishes without acknowledgement were dropped: this broker speaks protocol 1`));
    for (const encoded of fired) link.send(encoded);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Adds a publish; throws QueueFullError when `queueMax` are unanswered.
   * The bound holds online too: the broker remembers a bounded number of
   * publish ids per client, and a retry must find its id still there.
   */
  add(topic: string, kind: MessageKind, data: Uint8Array): PendingPublish {
    if (this.pending.size >= this.queueMax) throw new QueueFullError(`${this.queueMax} publishes are already waiting for an answer (publishQueueMax)`);
    if (this.pending.size > 0 && this.bytes + data.byteLength > this.bytesMax) throw new QueueFullError(`${this.bytes} bytes of publishes are already waiting for an answer (publishBytesMax ${this.bytesMax})`);
    let resolve!: (r: PublishResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<PublishResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: PendingPublish = { pid: ++this.pidLast, topic, kind, data, resolve, reject, promise };
    this.pending.set(entry.pid, entry);
    this.bytes += data.byteLength;
    return entry;
  }

  settle(pid: number, outcome: { seq: number } | Error): void {
    const entry = this.pending.get(pid);
    if (entry === undefined) return;
    this.pending.delete(pid);
    // A publish of a topic answered for good while the topic does not pause: its backoff starts
    // again from the shortest (so the map holds only topics pausing or with publishes resent).
    const pause = this.paused.get(entry.topic);
    if (pause !== undefined) {
      pause.held.delete(pid);
      if (pause.timer === undefined) this.paused.delete(entry.topic);
      else if (!(outcome instanceof Error)) pause.pauses = 0;
    }
    this.bytes -= entry.data.byteLength;
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve({ seq: outcome.seq });
  }

  /**
   * Topics whose publishing pauses: a publish to it was refused as Unavailable (its lightweight
   * group waits for a copy). Their publishes are held, not sent, until the pause's timer; other
   * topics' publishes go on. `pauses` counts pauses in a row (their backoff), kept while the
   * topic's resent publishes are unanswered; the entry goes once one of them is answered for good.
   */
  private readonly paused = new Map<string, { timer: ReturnType<typeof setTimeout> | undefined; held: Set<number>; pauses: number }>();

  /** Publishing to `topic` pauses: its new publishes are held, not sent. */
  pausing(topic: string): boolean {
    return this.paused.get(topic)?.timer !== undefined;
  }

  /** Holds an unanswered publish while its topic pauses. */
  hold(pid: number): void {
    const entry = this.pending.get(pid);
    if (entry !== undefined) this.paused.get(entry.topic)?.held.add(pid);
  }

  /**
   * Holds publish `pid` (refused as Unavailable) and pauses publishing to its topic for
   * `delayMs(pauses in a row)`, unless that topic pauses already; then `resume` gets every held
   * publish of the topic still unanswered, in publish order.
   */
  pause(pid: number, delayMs: (pauses: number) => number, resume: (held: PendingPublish[]) => void): void {
    const entry = this.pending.get(pid);
    if (entry === undefined) return;
    let pause = this.paused.get(entry.topic);
    if (pause === undefined) this.paused.set(entry.topic, (pause = { timer: undefined, held: new Set(), pauses: 0 }));
    pause.held.add(pid);
    if (pause.timer !== undefined) return;
    const p = pause;
    p.timer = setTimeout(() => {
      p.timer = undefined;
      const held = this.inOrder().filter((e) => p.held.has(e.pid));
      p.held.clear();
      resume(held);
    }, delayMs(p.pauses++));
  }

  /** Topics with a pause running or publishes resent after one (tests: bounded). */
  get pausedTopics(): number {
    return this.paused.size;
  }

  /**
   * Every pause ends now, their held publishes sent otherwise (a new connection sends them all) or
   * never (closed); backoffs start again from the shortest.
   */
  endPause(): void {
    for (const pause of this.paused.values()) clearTimeout(pause.timer);
    this.paused.clear();
  }

  /** Unanswered publishes, oldest first. */
  inOrder(): PendingPublish[] {
    return [...this.pending.values()];
  }

  /** Settles once every publish queued now has been answered (either way). */
  drained(): Promise<void> {
    return Promise.allSettled(this.inOrder().map((p) => p.promise)).then(() => undefined);
  }

  rejectAll(error: Error): void {
    for (const entry of this.inOrder()) this.settle(entry.pid, error);
  }
}

/** Publishes without acknowledgement kept while there is no connection. */
const firedMax = 1024;

/** Publish ids the broker remembers per client and stream (PublishDedup.pidsPerClientMax). */
export const publishQueueCeiling = 4096;

/** A random client instance id (hex), from the platform's crypto (browser and Node alike). */
export function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
