/**
 * The WebSocket edge: handshake, frame decoding, limits, dispatch of requests
 * (requests.ts), per-turn coalescing of outbound frames, and liveness pings.
 *
 * Bad input never reaches past this file as an exception. A frame that does
 * not decode closes that connection (BadFrame); a well-formed message with a
 * bad field gets a typed error and the connection stays; either is counted.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, dataOf, decodeFrame, frameLength, parseClientMessage, protocolVersions } from '../../client/protocol/index.js';
import type { DataBytes, Limits, WelcomeMessage } from '../../client/protocol/index.js';
import type { Topics } from '../topics/index.js';
import type { Authenticator, Identity } from '../auth/index.js';
import { ProtocolErrorReason, type BrokerMetrics } from './metrics.js';
import { Session, type FrameCache, type SessionHost, type SessionLimits } from './session.js';
import { RequestHandler } from './requests.js';
import { armIdentity } from './session-auth.js';
import { ConnectionLimiter, type RateLimits } from './rate-limits.js';
import { addressKey } from './addresses.js';
import { closeSocket, setFrameLimit, toBytes } from './sockets.js';

export interface GatewayOptions {
  brokerId: string;
  limits: Limits;
  session: SessionLimits;
  /** A connection that has not said hello within this many ms is closed (HandshakeTimeout). */
  helloTimeoutMs: number;
  /** Idle connections are pinged this often; silence for two intervals closes them (PingTimeout). */
  pingIntervalMs: number;
  topics: Topics;
  metrics: BrokerMetrics;
  /** Connections, handshakes included; beyond it new sockets are closed with TooManyConnections. */
  connectionsMax: number;
  /** Whether the broker takes publishes now (false while draining or outside a primary view). */
  isAccepting: () => boolean;
  /** Prefix of session ids (the mesh uses the broker's member id, so a view change can tell whose sessions left). */
  sessionPrefix?: () => string;
  /** Who a client is and what it may do (anonymous mode: everyone, everything). */
  auth: Authenticator;
  /** Per-connection rate limits. */
  rates: RateLimits;
  /** Connections from one IP address (an IPv6 /64), handshakes included. */
  connectionsPerIp: number;
  /** Bytes a connection may send before its welcome: its hello and what it queues behind it. */
  helloBytesMax: number;
}

/** Messages a client may send after its hello while the hello's token is being verified (their bytes: `helloBytesMax`). */
const backlogMax = 256;

export class Gateway implements SessionHost {
  private readonly sessions = new Set<Session>();
  private readonly dirty = new Set<Session>();
  private flushScheduled = false;
  private flushQueued = false;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly pending = new Set<WebSocket>();
  private readonly perIp = new Map<string, number>();
  /** What a session's requests do (requests.ts). */
  private readonly requests: RequestHandler;

  constructor(private readonly options: GatewayOptions) {
    this.requests = new RequestHandler(options);
    // Often enough for pings, and for cutting a reader whose data waits past the age limit.
    this.pingTimer = setInterval(() => this.pingSweep(), Math.max(50, Math.min(options.pingIntervalMs, options.session.outboundAgeMaxMs) / 2));
    this.pingTimer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Takes a freshly upgraded socket from `ip`. */
  accept(socket: WebSocket, ip = ''): void {
    const { metrics, limits } = this.options;
    socket.on('error', () => {}); // replaced below; a socket must never be without one
    if (this.sessions.size + this.pending.size >= this.options.connectionsMax) {
      closeSocket(socket, CloseCode.TooManyConnections, 'too many connections: try another broker', metrics);
      return;
    }
    const address = addressKey(ip);
    const fromAddress = (this.perIp.get(address) ?? 0) + 1;
    if (fromAddress > this.options.connectionsPerIp) {
      closeSocket(socket, CloseCode.TooManyConnections, 'too many connections from this address', metrics);
      return;
    }
    this.perIp.set(address, fromAddress);
    socket.once('close', () => {
      const left = (this.perIp.get(address) ?? 1) - 1;
      if (left > 0) this.perIp.set(address, left);
      else this.perIp.delete(address);
    });
    const limiter = new ConnectionLimiter(this.options.rates, performance.now());
    const frameMessagesMax = limits.frameMessagesMax ?? Infinity;
    let overBytes = false;
    this.pending.add(socket);
    let session: Session | undefined;
    const helloTimer = setTimeout(() => {
      if (session === undefined) closeSocket(socket, CloseCode.HandshakeTimeout, 'no hello in time', metrics);
    }, this.options.helloTimeoutMs);
    helloTimer.unref();
    // Until the welcome, a frame larger than what may be sent before it is refused at its header.
    setFrameLimit(socket, this.options.helloBytesMax);
    let beforeWelcome = 0;

    socket.on('error', (err: Error & { code?: string }) => {
      // ws has already failed the connection; just count why.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') metrics.protocolErrors.inc({ reason: ProtocolErrorReason.FrameTooBig });
      else metrics.protocolErrors.inc({ reason: ProtocolErrorReason.Malformed });
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.pending.delete(socket);
      if (session === undefined) return;
      session.markClosed();
      this.forget(session);
    });
    /** A message that does not parse: answered, and counted against the connection's patience. */
    const badMessage = (open: Session, parsed: { id?: number | undefined; code: number; message: string }): void => {
      metrics.protocolErrors.inc({ reason: parsed.code === ErrorCode.UnknownType ? ProtocolErrorReason.UnknownType : ProtocolErrorReason.BadMessage });
      this.requests.sendError(open, 'invalid', parsed.id, parsed.code, parsed.message);
      const now = performance.now();
      if (!limiter.violated(now)) {
        open.flush(now); // the errors go out before the close
        open.close(CloseCode.ProtocolError, 'bad messages again and again');
      }
    };
    // While the hello's token is verified (asynchronously), what follows it waits here.
    let verifying = false;
    const backlog: Array<[unknown, DataBytes | undefined]> = [];
    const process = (raw: unknown, data?: DataBytes): void => {
      if (verifying) {
        if (backlog.length >= backlogMax) return this.refuse(socket, ProtocolErrorReason.BadMessage, CloseCode.RateLimited, 'too much sent before the welcome: wait for it');
        backlog.push([raw, data]);
        return;
      }
      const parsed = parseClientMessage(raw);
      if (!parsed.ok) {
        if (session === undefined) return this.refuse(socket, ProtocolErrorReason.HelloRequired, CloseCode.HelloRequired, 'the first message must be a valid hello');
        return badMessage(session, parsed);
      }
      const message = parsed.message;
      if (session === undefined) {
        if (message.type !== 'hello') return this.refuse(socket, ProtocolErrorReason.HelloRequired, CloseCode.HelloRequired, 'the first message must be hello');
        if (!protocolVersions.includes(message.v)) {
          return this.refuse(socket, ProtocolErrorReason.BadVersion, CloseCode.UnsupportedVersion, `protocol version ${message.v} is not supported; this broker speaks ${protocolVersions.join(' and ')}`);
        }
        verifying = true;
        this.options.auth
          .client(message.token)
          .then((verified) => {
            verifying = false;
            if (socket.readyState !== socket.OPEN) return;
            if (!verified.ok) {
              this.options.metrics.authFailures.inc({ via: 'ws', reason: verified.reason });
              return this.refuse(socket, ProtocolErrorReason.Unauthorized, CloseCode.Unauthorized, verified.message);
            }
            clearTimeout(helloTimer);
            this.pending.delete(socket);
            setFrameLimit(socket, limits.frameBytesMax);
            session = this.open(socket, message.client, verified.identity, message.v);
            for (const next of backlog.splice(0)) {
              if (socket.readyState !== socket.OPEN) return;
              process(next[0], next[1]);
            }
          })
          .catch(() => {
            this.options.metrics.authFailures.inc({ via: 'ws', reason: 'signature' });
            this.refuse(socket, ProtocolErrorReason.Unauthorized, CloseCode.Unauthorized, 'the token could not be verified');
          });
        return;
      }
      // Protocol 1 answers every publish: one without an id is a bad message there.
      if (message.type === 'pub' && message.id === undefined && session.version < 2) return badMessage(session, { id: undefined, code: ErrorCode.BadRequest, message: 'pub.id must be a positive integer' });
      switch (message.type) {
        case 'hello':
          return badMessage(session, { id: undefined, code: ErrorCode.BadRequest, message: 'hello was already received' });
        case 'pong':
          return;
        default: {
          const now = performance.now();
          if (!overBytes && limiter.request(message.type, now)) return this.requests.handle(session, message, data);
          this.requests.sendError(session, message.type, message.id, ErrorCode.RateLimited, overBytes ? 'too many bytes per second on this connection; slow down' : `too many ${message.type} requests per second on this connection; slow down`);
          if (!limiter.violated(now)) {
            session.flush(now); // the refusals go out before the close
            session.close(CloseCode.RateLimited, 'rate limits exceeded again and again');
          }
          return;
        }
      }
    };
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      // Once a close has begun (by us or the client), nothing more is read, let alone decoded.
      if (socket.readyState !== socket.OPEN) return;
      metrics.framesIn.inc();
      if (!isBinary) return this.refuse(socket, ProtocolErrorReason.TextFrame, CloseCode.BadFrame, 'frames must be binary msgpack');
      const bytes = toBytes(data);
      metrics.bytesIn.inc(bytes.byteLength);
      if (session === undefined) {
        beforeWelcome += bytes.byteLength;
        if (beforeWelcome > this.options.helloBytesMax) return this.refuse(socket, ProtocolErrorReason.HelloTooBig, CloseCode.RateLimited, 'too much sent before the welcome: wait for it');
      }
      overBytes = !limiter.frame(bytes.byteLength, performance.now());
      // Counted from the array header, before anything is decoded.
      const count = frameLength(bytes);
      if (count !== undefined && count > frameMessagesMax) {
        return this.refuse(socket, ProtocolErrorReason.TooManyMessages, CloseCode.BadFrame, `more than ${frameMessagesMax} messages in one frame`);
      }
      const decoded = decodeFrame(bytes);
      if (!decoded.ok) {
        const reason = { malformed: ProtocolErrorReason.Malformed, 'not-array': ProtocolErrorReason.NotArray, 'bad-value': ProtocolErrorReason.BadValue, 'too-deep': ProtocolErrorReason.TooDeep }[decoded.reason];
        return this.refuse(socket, reason, CloseCode.BadFrame, `bad frame: ${decoded.reason}`);
      }
      if (session !== undefined) session.lastInboundAt = performance.now();
      // Where each publish's payload lies in the frame: delivered as the publisher encoded it.
      const datas = session === undefined ? undefined : dataRanges(bytes);
      for (let i = 0; i < decoded.messages.length; i++) {
        if (socket.readyState !== socket.OPEN) return; // closed by an earlier message of this frame
        process(decoded.messages[i], datas?.[i]);
      }
    });
  }

  /**
   * Closes the sessions of a client, by its public id (`welcome.client`, as presence and messages
   * show it) — only the one with id `sessionId` when given — at an operator's request (the HTTP
   * API): what each has queued goes out first, then the close with `code` and `reason`. Returns
   * the sessions closed (none: no such client here).
   */
  disconnect(client: string, sessionId: string | undefined, code: number, reason: string): Array<{ session: string; client: string }> {
    const closed: Array<{ session: string; client: string }> = [];
    for (const session of [...this.sessions]) {
      if (session.client !== client || (sessionId !== undefined && session.id !== sessionId)) continue;
      session.flush(performance.now());
      session.close(code, reason);
      closed.push({ session: session.id, client: session.client });
    }
    return closed;
  }

  /** Closes every connection with `code` (Draining on shutdown: clients resume elsewhere). */
  closeAll(code: number, reason: string): void {
    for (const session of [...this.sessions]) {
      session.flush(performance.now());
      session.close(code, reason);
    }
    for (const socket of this.pending) closeSocket(socket, code, reason, this.options.metrics);
  }

  stop(): void {
    clearInterval(this.pingTimer);
  }

  // ---- SessionHost ----------------------------------------------------------

  schedule(session: Session): void {
    this.dirty.add(session);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushDirty();
    });
  }

  closing(session: Session, code: number): void {
    this.options.metrics.closes.inc({ code: String(code) });
    if (code === CloseCode.SlowConsumer) this.options.metrics.slowConsumers.inc();
    if (code === CloseCode.TokenExpired) this.options.metrics.authFailures.inc({ via: 'ws', reason: 'expired' });
    // Leave presence and release subscriptions now, not when the peer
    // finishes the closing handshake (a dead peer never does).
    this.forget(session);
  }

  /** Removes a session and its subscriptions; safe to call twice. */
  private forget(session: Session): void {
    session.tokens?.clear();
    if (!this.sessions.delete(session)) return;
    this.dirty.delete(session);
    this.options.topics.drop(session);
    this.options.metrics.connections.set(this.sessions.size);
  }

  conflated(count: number): void {
    this.options.metrics.messagesConflated.inc(count);
  }

  wrote(bytes: number, oldestAgeMs: number): void {
    const { metrics } = this.options;
    metrics.framesOut.inc();
    metrics.bytesOut.inc(bytes);
    metrics.deliverLatency.observe(oldestAgeMs / 1000);
  }

  // ---- internals ------------------------------------------------------------

  private open(socket: WebSocket, clientId: string | undefined, identity: Identity, version: number): Session {
    const sessionId = `${this.options.sessionPrefix?.() ?? ''}${randomBytes(12).toString('base64url')}`;
    // With authentication the client id is the token's subject's: `sub|client`, so no one can
    // publish, de-duplicate or appear in presence under another subject's client id.
    const chosen = clientId ?? `c-${sessionId}`;
    const client = this.options.auth.required ? `${identity.sub}|${chosen}` : chosen;
    const session = new Session(sessionId, client, socket, this.options.session, this, performance.now(), version);
    armIdentity(session, identity, this.options.auth.options.tokenGraceMs);
    this.sessions.add(session);
    const { metrics } = this.options;
    metrics.connections.set(this.sessions.size);
    metrics.connectionsTotal.inc();
    const welcome: WelcomeMessage = {
      type: 'welcome',
      v: version,
      session: sessionId,
      client: session.client,
      broker: this.options.brokerId,
      limits: this.options.limits,
      pingIntervalMs: this.options.pingIntervalMs,
    };
    session.send(welcome);
    return session;
  }

  /**
   * Writes what the sessions hold in a microtask — after the current callback, the link frames it
   * queued (links.ts writes those in a microtask too, queued first) and the answers it deferred
   * (a waiting resume's, `Topics` `defer`) — rather than at the `setImmediate` of `schedule`: the
   * mesh delivers inside a `setImmediate` (cluster-node.ts `perform`), and one queued from there
   * would write only after the next pass's reads. The scheduled flush still runs, and finds
   * nothing left.
   */
  flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flushDirty();
    });
  }

  private flushDirty(): void {
    const now = performance.now();
    const dirty = [...this.dirty];
    this.dirty.clear();
    const cache: FrameCache = { parts: undefined, frame: undefined };
    for (const session of dirty) session.flush(now, cache);
  }

  /** Liveness both ways, and the age limit on unread data (Session.keepAlive). */
  private pingSweep(): void {
    const now = performance.now();
    for (const session of this.sessions) session.keepAlive(now, this.options.pingIntervalMs);
  }

  private refuse(socket: WebSocket, reason: ProtocolErrorReason, code: number, text: string): void {
    this.options.metrics.protocolErrors.inc({ reason });
    closeSocket(socket, code, text, this.options.metrics);
  }
}

/** `dataOf`, or nothing when the scan fails (the payloads are then checked and encoded from their values). */
function dataRanges(frame: Uint8Array): Array<DataBytes | undefined> | undefined {
  try {
    return dataOf(frame);
  } catch {
    return undefined;
  }
}
