/**
 * What the bench's minimal clients share: the outbound side. Everything a connection
 * writes during one synchronous burst (say 64 publishes from one turn of the
 * publisher's loop) goes out as one WebSocket message, sent from a microtask. The
 * caller writes its bytes straight into `buf` at `len`:
 *
 *   w.reserve(n);            // room for n more bytes (sends what is there first if a limit would be passed)
 *   w.buf[w.len++] = …;      // write them
 *   w.done();                // one message more in this frame; schedules the send
 *
 * `head` bytes are kept free at the start of each frame and filled by finish(buf, count)
 * just before the send (the Chorus client writes its array header there). Each frame
 * sent is a fresh copy: ws may keep a reference until the socket has written it.
 */

export class BurstWriter {
  constructor(socket, { head = 0, finish = null, maxBytes = 1024 * 1024, maxCount = Infinity } = {}) {
    this.socket = socket;
    this.head = head;
    this.finish = finish;
    this.maxBytes = maxBytes;
    this.maxCount = maxCount;
    this.buf = Buffer.allocUnsafe(64 * 1024);
    this.len = head;
    this.count = 0;
    this.scheduled = false;
    this.flushBound = () => this.flush();
  }

  reserve(n) {
    if (this.count > 0 && (this.count >= this.maxCount || this.len + n > this.maxBytes)) this.flush();
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.len + n));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
  }

  /** Writes a whole Uint8Array (reserve first). */
  put(bytes) {
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  done() {
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushBound);
    }
  }

  flush() {
    this.scheduled = false;
    if (this.count === 0) return;
    if (this.finish !== null) this.finish(this.buf, this.count);
    const frame = Buffer.allocUnsafe(this.len);
    this.buf.copy(frame, 0, 0, this.len);
    this.len = this.head;
    this.count = 0;
    if (this.socket.readyState === 1) this.socket.send(frame);
  }
}

/**
 * The inbound side of the stream protocols (NATS, MQTT): a message of theirs may span
 * WebSocket frames. Joins the unparsed tail of the last frame to the next one.
 */
export class Tail {
  constructor() {
    this.rest = null;
  }

  /** The bytes to parse now: the kept tail (if any) followed by this frame. */
  join(frame) {
    if (this.rest === null) return frame;
    const joined = Buffer.concat([this.rest, frame]);
    this.rest = null;
    return joined;
  }

  /** Keeps buf[from…] (a copy) for the next frame. */
  keep(buf, from) {
    if (from < buf.length) this.rest = Buffer.from(buf.subarray(from));
  }
}
