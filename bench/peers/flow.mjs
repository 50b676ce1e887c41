/**
 * The publisher's loops, in the load generator (generator.mjs):
 *
 * FlowPublisher (W1, W2) publishes as fast as the server takes it, in bursts (default
 * 64) from setImmediate so that the subscribers' sockets get their I/O turns between
 * bursts. It pauses
 *   - while the publisher socket's bufferedAmount is above `bufferHigh` (1 MiB), until it
 *     is below `bufferLow` (256 KiB) — polled every millisecond while paused;
 *   - while windowFree() <= 0: more messages published than delivered by a window, so a
 *     server that queues without bound cannot run ahead of its subscribers. Deliveries
 *     call notify() to resume it; a 50 ms timer re-checks in case none come.
 * It accounts the time paused for each reason while measuring.
 *
 * PacedPublisher (W3) publishes at a fixed rate from a 1 ms interval timer: each tick
 * sends what is due (in one burst, written to the socket before the tick returns: the
 * adapter's flush(), where it has one), and the largest lag behind the schedule is kept.
 */
import { performance } from 'node:perf_hooks';

export class FlowPublisher {
  /** conn: an adapter connection; next(i) -> [topic, bytes] for publish number i; windowFree() -> messages it may still send. */
  constructor(conn, { burst, bufferHigh, bufferLow, windowFree, next }) {
    this.conn = conn;
    this.burst = burst;
    this.bufferHigh = bufferHigh;
    this.bufferLow = bufferLow;
    this.windowFree = windowFree;
    this.next = next;
    this.sent = 0;
    this.running = false;
    this.scheduled = false;
    this.waitingWindow = false;
    this.bufferPaused = false;
    this.blocked = null; // null | 'buffer' | 'window'
    this.blockedSince = 0;
    this.measuring = false;
    this.pausedMs = { buffer: 0, window: 0 };
    this.pumpBound = () => this.pump();
    this.timerPumpBound = () => {
      this.timer = null;
      this.pump();
    };
    this.timer = null;
  }

  go() {
    this.running = true;
    this.schedule();
  }

  stop() {
    this.setBlocked(null);
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  startMeasure() {
    this.measuring = true;
    this.pausedMs = { buffer: 0, window: 0 };
    this.blockedSince = performance.now();
  }

  endMeasure() {
    this.setBlocked(this.blocked); // close the open interval
    this.measuring = false;
    return this.pausedMs;
  }

  /** A delivery arrived: if the window held the publisher back, look again next turn. */
  notify() {
    if (this.waitingWindow && !this.scheduled) {
      this.waitingWindow = false;
      this.schedule();
    }
  }

  schedule() {
    this.scheduled = true;
    setImmediate(this.pumpBound);
  }

  setBlocked(reason) {
    const now = performance.now();
    if (this.measuring && this.blocked !== null) this.pausedMs[this.blocked] += now - this.blockedSince;
    this.blocked = reason;
    this.blockedSince = now;
  }

  pump() {
    this.scheduled = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.running) return;
    const buffered = this.conn.bufferedAmount();
    if (this.bufferPaused ? buffered > this.bufferLow : buffered > this.bufferHigh) {
      this.bufferPaused = true;
      if (this.blocked !== 'buffer') this.setBlocked('buffer');
      this.timer = setTimeout(this.timerPumpBound, 1);
      return;
    }
    this.bufferPaused = false;
    const free = this.windowFree(this.sent);
    if (free <= 0) {
      if (this.blocked !== 'window') this.setBlocked('window');
      this.waitingWindow = true;
      this.timer = setTimeout(this.timerPumpBound, 50);
      return;
    }
    if (this.blocked !== null) this.setBlocked(null);
    const n = Math.min(this.burst, free);
    for (let i = 0; i < n; i++) {
      const [topic, bytes] = this.next(this.sent);
      this.sent++;
      this.conn.publish(topic, bytes);
    }
    this.schedule();
  }
}

export class PacedPublisher {
  /** rate: messages/s; make(i) -> [topic, bytes] (called at the moment of sending: it may write the send time). */
  constructor(conn, { rate, bufferHigh, make }) {
    this.conn = conn;
    this.rate = rate;
    this.bufferHigh = bufferHigh;
    this.make = make;
    this.sent = 0;
    this.timer = null;
    this.measuring = false;
    this.maxLagMs = 0;
    this.skippedTicks = 0;
  }

  go() {
    this.t0 = performance.now();
    this.timer = setInterval(() => this.tick(), 1);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  startMeasure() {
    this.measuring = true;
    this.maxLagMs = 0;
    this.skippedTicks = 0;
  }

  endMeasure() {
    this.measuring = false;
    return { maxLagMs: this.maxLagMs, skippedTicks: this.skippedTicks };
  }

  tick() {
    const now = performance.now();
    const due = Math.floor(((now - this.t0) * this.rate) / 1000);
    if (due <= this.sent) return;
    if (this.conn.bufferedAmount() > this.bufferHigh) {
      this.skippedTicks++;
      return;
    }
    // The oldest message due now was scheduled for t0 + sent / rate.
    const lag = now - (this.t0 + (this.sent * 1000) / this.rate);
    if (this.measuring && lag > this.maxLagMs) this.maxLagMs = lag;
    while (this.sent < due) {
      const [topic, bytes] = this.make(this.sent);
      this.sent++;
      this.conn.publish(topic, bytes);
    }
    // What is due leaves now, from this tick (a lean client would otherwise send it from a
    // microtask after the tick: the same turn, but this way nothing depends on that).
    this.conn.flush?.();
  }
}
