/**
 * The client's connection: one WebSocket link at a time, over the URL list. It opens a link, says
 * hello with subscriptions pipelined behind it, waits for the welcome within the connect timeout,
 * and when a link closes decides (after-close.ts) whether to open another — at once without
 * pipelining or in protocol 1, or after a backoff at the next URL — or to give up. What the links
 * carry (subscriptions, publishes, replies) is the client's (client.ts), told through the host.
 */
import { afterClose } from './after-close.js';
import { ConnectError, ConnectionClosedError, type ChorusError } from './errors.js';
import { Link } from './link.js';
import { helloWithSubscribes } from './pipeline.js';
import { CloseCode, protocolVersion } from './protocol/index.js';
import type { Limits, ServerMessage, WelcomeMessage } from './protocol/index.js';
import type { Requests } from './requests.js';
import type { Subscription } from './subscription.js';
import type { WebSocketConstructor } from './websocket.js';
import { tokenOf, type ClientEvents, type ConnectOptions } from './options.js';

/** What the connection asks of the client it carries. */
export interface ConnectionHost {
  readonly requests: Requests;
  /** The subscriptions held, in order (the first within the budget go behind a hello). */
  subscriptions(): Iterable<Subscription>;
  /** A link was welcomed: resume what the client holds on it (pipelined: sent behind its hello). */
  welcomed(link: Link, welcome: WelcomeMessage, pipelined: ReadonlySet<Subscription>): void;
  message(link: Link, message: ServerMessage): void;
  /** The current link closed: what was in flight on it is void. */
  down(): void;
  /** Given up for good: every publish and subscription fails with `error`. */
  failed(error: ChorusError): void;
}

export class Connection {
  link: Link | undefined;
  welcome: WelcomeMessage | undefined;
  /** The limits of the last broker that welcomed us (kept while disconnected). */
  limitsSeen: Limits | undefined;
  /** Subscriptions sent behind the hello on the current link (pipeline.ts); cleared at its welcome. */
  readonly pipelined = new Set<Subscription>();
  /** Closed for good (by the app, or given up). */
  closed = false;
  private urlIndex = 0;
  private attempt = 0;
  private everConnected = false;
  private WebSocketImpl: WebSocketConstructor | undefined;
  /** Off after a 4008 before a welcome. */
  private pipelining = true;
  /** The protocol version said in hello: the newest, or 1 for a broker that refused it (older than protocol 2). */
  private helloVersion = protocolVersion;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private firstConnect: { resolve(): void; reject(err: Error): void } | undefined;

  constructor(
    readonly urls: readonly string[],
    private readonly options: ConnectOptions,
    private readonly clientId: string,
    private readonly emit: <K extends keyof ClientEvents>(event: K, value: ClientEvents[K]) => void,
    private readonly host: ConnectionHost,
  ) {}

  /** Starts connecting; settles on the first welcome, rejects when one round over every URL failed, or on close() before. */
  start(webSocket: WebSocketConstructor | Promise<WebSocketConstructor>): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      Promise.resolve(webSocket).then(
        (impl) => {
          this.WebSocketImpl = impl;
          if (!this.closed) this.openLink();
        },
        (err: unknown) => this.fail(new ConnectError('no WebSocket implementation', { cause: err }), CloseCode.Abnormal, 'no WebSocket'),
      );
    });
    // Not every caller of createClient() awaits `ready`: a failure is reported by the `closed` event too.
    ready.catch(() => undefined);
    return ready;
  }

  /** Closed for good now: no timer left, no reconnect. */
  stop(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
  }

  /** The app closed the client: the link closes normally, and a first connection still awaited fails with `error`. */
  close(error: Error): void {
    const link = this.link;
    this.link = undefined;
    this.welcome = undefined;
    link?.close(CloseCode.Normal, 'client closed');
    this.firstConnect?.reject(error);
    this.firstConnect = undefined;
  }

  private openLink(): void {
    const url = this.urls[this.urlIndex % this.urls.length]!;
    let link: Link;
    try {
      link = new Link(url, this.WebSocketImpl!, {
        open: () =>
          void tokenOf(this.options).then(
            (token) => {
              if (this.link !== link) return;
              const hello = { type: 'hello', v: this.helloVersion, client: this.clientId, token };
              const sent = helloWithSubscribes((m) => link.send(m), hello, this.host.subscriptions(), this.host.requests, this.pipelining);
              this.pipelined.clear();
              for (const sub of sent) this.pipelined.add(sub);
            },
            (err: unknown) => link.close(CloseCode.Unauthorized, `no token: ${err instanceof Error ? err.message : String(err)}`),
          ),
        messages: (messages) => {
          if (this.link !== link) return;
          for (const m of messages) {
            if (Array.isArray(m) || (m as ServerMessage).type !== 'welcome') this.host.message(link, m as ServerMessage);
            else this.onWelcome(link, m as WelcomeMessage);
          }
        },
        close: (code, reason) => this.onLinkClose(link, code, reason),
      });
    } catch (err) {
      // A bad URL throws synchronously in browsers.
      this.emit('error', new ConnectError(`cannot open ${url}`, { cause: err }));
      queueMicrotask(() => this.onLinkClose(undefined, CloseCode.Abnormal, 'cannot open'));
      return;
    }
    this.link = link;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    this.connectTimer = setTimeout(() => link.close(CloseCode.HandshakeTimeout, 'no welcome in time'), timeoutMs);
  }

  private onWelcome(link: Link, welcome: WelcomeMessage): void {
    clearTimeout(this.connectTimer);
    this.welcome = welcome;
    this.limitsSeen = welcome.limits;
    link.frameBytesMax = welcome.limits.frameBytesMax;
    link.frameMessagesMax = welcome.limits.frameMessagesMax ?? Infinity;
    this.attempt = 0;
    link.watchLiveness(welcome.pingIntervalMs);
    this.host.welcomed(link, welcome, this.pipelined);
    this.pipelined.clear();
    const info = { broker: welcome.broker, session: welcome.session };
    if (this.everConnected) {
      this.emit('reconnected', info);
    } else {
      this.everConnected = true;
      this.emit('connected', info);
      this.firstConnect?.resolve();
      this.firstConnect = undefined;
    }
  }

  private onLinkClose(link: Link | undefined, code: number, reason: string): void {
    if (link !== undefined && link !== this.link) return;
    clearTimeout(this.connectTimer);
    const wasConnected = this.welcome !== undefined;
    this.link = undefined;
    this.welcome = undefined;
    this.host.down();
    const pipelined = this.pipelined.size > 0;
    this.pipelined.clear();
    if (this.closed) return;
    const firstRoundOver = !this.everConnected && this.attempt + 1 >= this.urls.length && this.firstConnect !== undefined;
    const next = afterClose({ code, welcomed: wasConnected, pipelined, helloVersion: this.helloVersion, firstRoundOver, reconnect: this.options.reconnect ?? {}, attempt: this.attempt });
    if (next.kind === 'again-unpipelined') this.pipelining = false;
    if (next.kind === 'again-v1') this.helloVersion = 1;
    if (next.kind === 'again-unpipelined' || next.kind === 'again-v1') return this.openLink();
    if (wasConnected) this.emit('disconnected', { code, reason });
    if (next.kind === 'fail-connect') return this.fail(new ConnectError(`could not connect to ${this.urls.join(', ')} (last close ${code}${reason ? `: ${reason}` : ''})`), code, reason);
    if (next.kind === 'fail') return this.fail(new ConnectionClosedError(`broker closed the connection: ${code} ${reason}`, code), code, reason);
    this.urlIndex++;
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.openLink(), next.delayMs);
  }

  private fail(error: ChorusError, code: number, reason: string): void {
    this.stop();
    this.host.failed(error);
    if (this.firstConnect !== undefined) {
      this.firstConnect.reject(error);
      this.firstConnect = undefined;
    } else {
      this.emit('error', error);
    }
    this.emit('closed', { code, reason });
  }
}
