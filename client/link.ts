/**
 * One WebSocket connection to one broker: opens it, coalesces everything sent
 * in one turn into one frame, decodes inbound frames. Knows nothing of
 * subscriptions or reconnects; connection.ts and client.ts own those.
 */
import { CloseCode, arrayHeaderBytes, encode, frameFromEncoded, readFrame } from './protocol/index.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket.js';

export interface LinkHandlers {
  open(): void;
  messages(messages: unknown[]): void;
  close(code: number, reason: string): void;
}

export class Link {
  private readonly socket: WebSocketLike;
  private outbox: unknown[] = [];
  private closed = false;
  /** Frames are split to stay within the broker's inbound limit (known after welcome). */
  frameBytesMax = 64 * 1024;
  /** The broker's bound on messages per frame (from its welcome). */
  frameMessagesMax = Infinity;
  private lastInboundAt = 0;
  private livenessTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly url: string,
    WebSocketImpl: WebSocketConstructor,
    private readonly handlers: LinkHandlers,
  ) {
    this.socket = new WebSocketImpl(url);
    // Browsers hand over Blobs unless told otherwise; ws in Node hands over Buffers, which need no
    // copy into an ArrayBuffer (its 'arraybuffer' mode copies every frame).
    if (this.socket.binaryType !== 'nodebuffer') this.socket.binaryType = 'arraybuffer';
    this.socket.onopen = () => this.handlers.open();
    this.socket.onmessage = (ev) => this.receive(ev.data);
    this.socket.onerror = () => {
      // A close event always follows; the close handler decides what to do.
    };
    this.socket.onclose = (ev) => this.finish(ev.code, ev.reason);
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === 1;
  }

  /** Queues a message (an object, or one already encoded); all sent in this turn leave as one frame. */
  send(message: unknown): void {
    if (this.closed) return;
    this.outbox.push(message);
    if (this.outbox.length === 1) queueMicrotask(() => this.flush());
  }

  /** Closes with 4003 when the broker says nothing (it pings every `pingIntervalMs`) for two intervals and 2 s. */
  watchLiveness(pingIntervalMs: number): void {
    this.lastInboundAt = Date.now();
    const deadMs = 2 * pingIntervalMs + 2000;
    clearInterval(this.livenessTimer);
    this.livenessTimer = setInterval(() => {
      if (Date.now() - this.lastInboundAt > deadMs) this.close(CloseCode.PingTimeout, 'broker silent');
    }, Math.max(100, pingIntervalMs / 2));
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.closed) return;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.close();
    }
    // Do not wait for the closing handshake: report the close now.
    this.finish(code, reason);
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (this.closed || batch.length === 0 || this.socket.readyState !== 1) return;
    let parts: Uint8Array[] = [];
    let bytes = 0;
    for (const message of batch) {
      let encoded: Uint8Array;
      if (message instanceof Uint8Array) encoded = message;
      else {
        try {
          encoded = encode(message);
        } catch {
          continue; // values are checked before they get here; never let one sink the batch
        }
      }
      if (parts.length > 0 && (parts.length >= this.frameMessagesMax || arrayHeaderBytes(parts.length + 1) + bytes + encoded.byteLength > this.frameBytesMax)) {
        this.socket.send(frameFromEncoded(parts, bytes));
        parts = [];
        bytes = 0;
      }
      parts.push(encoded);
      bytes += encoded.byteLength;
    }
    this.socket.send(frameFromEncoded(parts, bytes));
  }

  private receive(data: unknown): void {
    if (this.closed) return;
    this.lastInboundAt = Date.now();
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    // Deliveries read field by field, the broker trusted (reader.ts).
    let messages: unknown[];
    try {
      if (bytes === undefined) throw new Error('not binary');
      messages = readFrame(bytes);
    } catch {
      this.close(CloseCode.ProtocolError, 'bad frame from broker');
      return;
    }
    this.handlers.messages(messages);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.livenessTimer);
    this.outbox = [];
    this.socket.onopen = null;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    this.handlers.close(code, reason);
  }
}
