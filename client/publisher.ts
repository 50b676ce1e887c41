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
    this.held.delete(pid);
    this.bytes -= entry.data.byteLength;
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve({ seq: outcome.seq });
  }

  /** Unanswered publishes not in flight: refused as Unavailable, or issued while publishing pauses. */
  private readonly held = new Set<number>();
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  /** Pauses in a row (their backoff); reset by a publish applied. */
  pauses = 0;

  /** Publishing pauses (a publish was refused as Unavailable): new publishes are held, not sent. */
  get paused(): boolean {
    return this.pauseTimer !== undefined;
  }

  hold(pid: number): void {
    if (this.pending.has(pid)) this.held.add(pid);
  }

  /**
   * Holds publish `pid` (refused as Unavailable) and pauses publishing for `delayMs`, unless it
   * pauses already; then `resume` gets every held publish still unanswered, in publish order.
   */
  pause(pid: number, delayMs: number, resume: (held: PendingPublish[]) => void): void {
    this.hold(pid);
    if (this.pauseTimer !== undefined) return;
    this.pauses++;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      resume(this.takeHeld());
    }, delayMs);
  }

  /** The pause ends now, its held publishes sent otherwise (a new connection sends them all) or never (closed). */
  endPause(): void {
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.held.clear();
  }

  private takeHeld(): PendingPublish[] {
    const out = this.inOrder().filter((entry) => this.held.has(entry.pid));
    this.held.clear();
    return out;
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
