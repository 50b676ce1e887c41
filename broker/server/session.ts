/**
 * One client connection after its hello: a topic subscriber with an outbound
 * queue. Everything sent in one event-loop turn goes out as one frame (split
 * only past `frameBytesOutMax`): messages are encoded once, upstream, and a
 * frame is their bytes behind one msgpack array header.
 *
 * Slow consumers: when a flush finds that the socket has still not written
 * more than `outboundBytesMax` from earlier turns, the reader is not keeping
 * up, and the connection is closed with CloseCode.SlowConsumer and its queue
 * dropped, so it cannot hold the broker's memory or delay anyone else. What
 * one turn queues (a burst, or the snapshots a client just asked for) is not
 * held against it, up to a hard ceiling of 4 × `outboundBytesMax` queued plus
 * unwritten, which bounds the memory one connection can pin. Nor may data
 * wait unwritten at the socket longer than `outboundAgeMaxMs`: a reader that
 * takes a trickle, never enough to pass the byte limit, is cut as well.
 */
import type { WebSocket } from 'ws';
import { CloseCode, encode, encodeMessageV2, frameFromEncoded, arrayHeaderBytes } from '../../client/protocol/index.js';
import { partsOf, v2Of, type HistoryEntry, type Subscriber } from '../topics/index.js';
import { Conflation, conflateAfterBytes, type Release } from './conflation.js';
import { PublishAcks } from './publish-acks.js';
import { anonymous, type Identity } from '../auth/index.js';
import type { TokenTimers } from './session-auth.js';

export interface SessionLimits {
  /** Outbound bytes (queued + unwritten) before the connection is cut as a slow consumer. */
  outboundBytesMax: number;
  /** Longest time data may wait unwritten at the socket before the reader is cut, ms. */
  outboundAgeMaxMs: number;
  /** Frames are split past this many bytes (a single larger message still goes alone). */
  frameBytesOutMax: number;
}

/**
 * The last frame built in one flush pass. In a fan-out every subscriber of a
 * topic usually has the very same messages queued in a turn, so the next
 * session with the same parts (compared by reference, O(count)) reuses the
 * frame instead of copying the same bytes again.
 */
export interface FrameCache {
  parts: Uint8Array[] | undefined;
  frame: Uint8Array | undefined;
}

export interface SessionHost {
  /** The session has something queued: flush it at the end of this turn. */
  schedule(session: Session): void;
  /** The session is being closed by the broker with this code. */
  closing(session: Session, code: number, reason: string): void;
  /** A frame was written: its size, and how long its oldest message waited. */
  wrote(bytes: number, oldestAgeMs: number): void;
  /** Conflated events replaced by newer ones before this subscriber got them. */
  conflated(count: number): void;
}

/** How often a session holding conflated events looks whether its socket has caught up, ms. */
const conflationCheckMs = 20;

export class Session implements Subscriber {
  /** Who this connection is and what it may do (set at hello, replaced by a refresh). */
  identity: Identity = anonymous;
  /** The expiry of its token, when it has one. */
  tokens: TokenTimers | undefined;
  /** A refresh is being verified (one at a time). */
  refreshing = false;
  private queue: Uint8Array[] = [];
  private queueBytes = 0;
  private oldestQueuedAt = 0;
  private closed = false;
  /** performance.now() of the last inbound and outbound frame, for pings. */
  lastInboundAt: number;
  lastOutboundAt: number;
  /** performance.now() of the last ping sent. */
  lastPingAt = 0;
  /** Since when data has waited unwritten at the socket (undefined: nothing waits). */
  private backloggedSince: number | undefined;
  /** Protocol 2: acknowledged publishes, answered cumulatively (made on the first such publish). */
  private acksState: PublishAcks | undefined;
  /** Protocol 2: events held for conflated topics while the socket is behind (conflation.ts). */
  private conflation: Conflation | undefined;
  private conflationTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly id: string,
    readonly client: string,
    private readonly socket: WebSocket,
    private readonly limits: SessionLimits,
    private readonly host: SessionHost,
    now: number,
    /** The protocol version this connection speaks (from its hello). */
    readonly version = 1,
  ) {
    this.lastInboundAt = now;
    this.lastOutboundAt = now;
  }

  get acks(): PublishAcks {
    return (this.acksState ??= new PublishAcks(
      (encoded) => this.deliver(encoded),
      () => {
        if (this.queue.length === 0) this.host.schedule(this);
      },
    ));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues a message object (encoded now). */
  send(message: unknown): void {
    this.deliver(encode(message));
  }

  /**
   * A topic message, in this connection's protocol: the v1 map, or the v2 array with its
   * subscription id. `conflate`: the topic is conflated here (v2 subscribers only).
   */
  deliverMessage(entry: HistoryEntry, sid: number | undefined, conflate = false): void {
    if (this.version === 1) return this.deliver(entry.encoded);
    if (sid !== undefined && (conflate || this.conflation?.holding === true)) {
      const conflation = (this.conflation ??= new Conflation());
      if (conflate && conflation.offer(entry, sid, this.socket.bufferedAmount > conflateAfterBytes)) {
        this.watchCatchUp();
        return;
      }
      this.queueReleases(sid, conflation.releaseTopic(sid));
    }
    this.deliver(v2Of(entry, sid));
  }

  /** A subscription ended here: conflated events it held are dropped. */
  forgetConflated(sid: number): void {
    this.conflation?.forget(sid);
  }

  /**
   * A presence change of a topic (its `join`/`leave`): queued behind any events conflation holds
   * for the topic, so it never overtakes a message ordered before it.
   */
  deliverPresence(encoded: Uint8Array, sid: number | undefined): void {
    if (sid !== undefined && this.conflation?.holding === true) this.queueReleases(sid, this.conflation.releaseTopic(sid));
    this.deliver(encoded);
  }

  private queueReleases(sid: number, releases: Release[]): void {
    for (const { entry, prev } of releases) this.deliver(prev === undefined ? v2Of(entry, sid) : encodeMessageV2(sid, partsOf(entry), prev));
  }

  /** While events are held, looks every few ms whether the socket has written everything; then they go. */
  private watchCatchUp(): void {
    if (this.conflationTimer !== undefined) return;
    this.conflationTimer = setInterval(() => {
      const conflation = this.conflation;
      if (this.closed || conflation === undefined || !conflation.holding) return this.stopCatchUp();
      if (this.socket.bufferedAmount > 0) return;
      for (const [sid, releases] of conflation.releaseAll()) this.queueReleases(sid, releases);
      if (conflation.skipped > 0) this.host.conflated(conflation.skipped);
      conflation.skipped = 0;
      this.stopCatchUp();
    }, conflationCheckMs);
  }

  private stopCatchUp(): void {
    clearInterval(this.conflationTimer);
    this.conflationTimer = undefined;
  }

  deliver(encoded: Uint8Array): void {
    if (this.closed) return;
    if (this.queue.length === 0) {
      this.oldestQueuedAt = performance.now();
      this.host.schedule(this);
    }
    this.queue.push(encoded);
    this.queueBytes += encoded.byteLength;
    if (this.queueBytes + this.socket.bufferedAmount > 4 * this.limits.outboundBytesMax) {
      this.close(CloseCode.SlowConsumer, 'slow consumer: outbound queue over its ceiling');
    }
  }

  /** Writes what is queued, as few frames as the size limit allows. */
  flush(now: number, cache: FrameCache = { parts: undefined, frame: undefined }): void {
    this.acksState?.close();
    if (this.closed || this.queue.length === 0 || !this.readingInTime(now)) return;
    if (this.socket.bufferedAmount > this.limits.outboundBytesMax) {
      this.close(CloseCode.SlowConsumer, 'slow consumer: not reading fast enough');
      return;
    }
    const queue = this.queue;
    const age = now - this.oldestQueuedAt;
    this.queue = [];
    this.queueBytes = 0;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < queue.length; i++) {
      const size = queue[i]!.byteLength;
      if (i > start && bytes + size + arrayHeaderBytes(i - start + 1) > this.limits.frameBytesOutMax) {
        this.write(queue.slice(start, i), bytes, age, cache);
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    this.write(start === 0 ? queue : queue.slice(start), bytes, age, cache);
    this.lastOutboundAt = now;
  }

  /** Whether the socket has taken what it was given within the age limit (else the reader is cut). */
  readingInTime(now: number): boolean {
    if (this.closed) return false;
    if (this.socket.bufferedAmount === 0) {
      this.backloggedSince = undefined;
      return true;
    }
    this.backloggedSince ??= now;
    if (now - this.backloggedSince <= this.limits.outboundAgeMaxMs) return true;
    this.close(CloseCode.SlowConsumer, `slow consumer: data unread for over ${Math.round(this.limits.outboundAgeMaxMs / 1000)} s`);
    return false;
  }

  /**
   * Liveness both ways, called every sweep. The client must hear something every interval (it
   * treats two silent intervals as a dead link), and the broker must hear the client: a session
   * silent for an interval is pinged even when it is receiving traffic, since only a ping makes a
   * pure subscriber answer. A reader past the age limit is cut first.
   */
  keepAlive(now: number, intervalMs: number): void {
    if (!this.readingInTime(now)) return;
    if (now - this.lastInboundAt > 2 * intervalMs + 1000) {
      this.close(CloseCode.PingTimeout, 'no pong in time');
    } else if ((now - this.lastOutboundAt >= intervalMs || now - this.lastInboundAt >= intervalMs) && now - this.lastPingAt >= intervalMs) {
      this.lastPingAt = now;
      this.send({ type: 'ping' });
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopCatchUp();
    this.queue = [];
    this.queueBytes = 0;
    this.host.closing(this, code, reason);
    this.socket.close(code, reason);
    // A stalled reader never completes the closing handshake: do not wait
    // ws's 30 s for it.
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  /** The socket went away on its own. */
  markClosed(): void {
    this.closed = true;
    this.stopCatchUp();
    this.queue = [];
    this.queueBytes = 0;
  }

  private write(parts: Uint8Array[], bytes: number, age: number, cache: FrameCache): void {
    let frame: Uint8Array;
    if (cache.frame !== undefined && sameParts(cache.parts!, parts)) {
      frame = cache.frame;
    } else {
      frame = frameFromEncoded(parts, bytes);
      cache.parts = parts;
      cache.frame = frame;
    }
    this.socket.send(frame, { binary: true });
    this.host.wrote(frame.byteLength, age);
  }
}

function sameParts(a: Uint8Array[], b: Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
