/**
 * A raw WebSocket to a broker for tests that speak the wire protocol by hand:
 * records what the broker sends and how it closes.
 */
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, type ServerMessage } from '../../client/protocol/index.js';
import { Condition, within } from './wait.js';

/** A raw connection that records what the broker sends and how it closes. */
export class Raw {
  readonly ws: WebSocket;
  /** What the broker sent, in order (protocol 2's deliveries are arrays). */
  readonly received: ServerMessage[] = [];
  readonly changed = new Condition();
  closeCode: number | undefined;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code) => {
        this.closeCode = code;
        this.changed.notify();
        resolve(code);
      }),
    );
    this.ws.on('message', (data: Buffer) => {
      const decoded = decodeFrame(new Uint8Array(data));
      if (decoded.ok) this.received.push(...(decoded.messages as ServerMessage[]));
      this.changed.notify();
    });
  }

  send(messages: unknown[]): void {
    this.ws.send(encodeFrame(messages));
  }

  async hello(token?: string, v = 1): Promise<void> {
    await this.opened;
    this.send([{ type: 'hello', v, ...(token === undefined ? {} : { token }) }]);
    await this.changed.wait(() => this.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
  }

  /** The reply or error that answers request `id`. */
  async answer(id: number): Promise<ServerMessage> {
    await this.changed.wait(() => this.received.some((m) => (m.type === 'reply' || m.type === 'error') && m.id === id), 5000, `answer to ${id}`);
    return this.received.find((m) => (m.type === 'reply' || m.type === 'error') && m.id === id)!;
  }

  closeCodeWithin(ms: number): Promise<number> {
    return within(this.closed, ms, 'close');
  }
}

