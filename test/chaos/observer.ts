/**
 * What the chaos run checks, on the wire and in the application.
 *
 * On the wire: every client's WebSocket is wrapped (`tap`), so each frame it sends and receives is
 * decoded here before the client library sees it. Per connection and topic: after a subscribe
 * reply at seq s, the messages are exactly s+1, s+2 … (a gap or a seq again is a violation; so is
 * a message before the reply); a resume answered `recovered: true` starts at the `since` asked
 * for; one answered `recovered: false` is a resync, justified only if history could not reach
 * back (more than `historyLength` seqs skipped) — never at an older seq (the subscriber would see
 * seqs again) — and a new epoch (the topic's state lost) is reported as such.
 *
 * In the application: per subscription, each message handed to the handler is the one after the
 * last (or after an explicit `resync` with `recovered: false`); no `ended` event, no client
 * `error` event. Across everything: one (seq → data) per topic — from every wire message, every
 * handler call and every acknowledgement.
 *
 * At the end (`finalChecks`): every acknowledged publish reached every subscription still active
 * (unless inside a justified resync), every subscription reached its topic's last seq, and every
 * subscriber's `sub.state` and every broker's state equal the fold of the topic's sequence.
 */
import { Condition } from '../helpers/wait.js';
import WebSocket from 'ws';
import type { WebSocketConstructor, WebSocketLike } from '../../client/index.js';
import { applyMergePatch, decodeFrame } from '../../client/protocol/index.js';

export interface Observed {
  kind: string;
  data: unknown;
  /** JSON of kind and data: the identity compared across observers. */
  key: string;
}

interface WireSub {
  client: string;
  topic: string;
  /** Seq of the first subscribe reply (the subscription starts after it). */
  firstSeq: number | undefined;
  /** Last seq reached on the wire (reply or message). */
  last: number;
  epoch: string;
  /** Seqs skipped by justified resyncs: (after, upTo]. */
  skipped: Array<[number, number]>;
}

interface ConnTopic {
  replied: boolean;
  expected: number;
}

export interface Conn {
  requests: Map<number, { topic: string; since?: number; epoch?: string; pub?: boolean }>;
  topics: Map<string, ConnTopic>;
}

export interface AppSub {
  client: string;
  topic: string;
  last: number | undefined;
  delivered: Set<number>;
  resyncs: number;
  ended: boolean;
  sub?: { seq: number; state: unknown; active: boolean };
}

export class Observer {
  readonly violations: string[] = [];
  /** topic → seq → what it carries. */
  readonly sequence = new Map<string, Map<number, Observed>>();
  readonly wire = new Map<string, WireSub>();
  readonly apps = new Map<string, AppSub>();
  /** Snapshots seen in replies: checked against the fold at the end. */
  private readonly snapshots: Array<{ where: string; topic: string; seq: number; state: unknown }> = [];
  readonly counts = { wireResyncs: 0, appResyncs: 0, refusals: 0, epochChanges: 0, frames: 0 };
  /** Notified whenever a subscription hands something to the application or resyncs. */
  readonly arrived = new Condition();
  private violationsLimit = 200;

  constructor(private readonly historyLength: number) {}

  violation(message: string): void {
    if (this.violations.length < this.violationsLimit) this.violations.push(message);
    else if (this.violations.length === this.violationsLimit) this.violations.push('… more violations left out');
  }

  /** Enters (topic, seq) → kind+data as seen by `where`; a different one seen before is a violation. */
  see(where: string, topic: string, seq: number, kind: string, data: unknown): void {
    let bySeq = this.sequence.get(topic);
    if (bySeq === undefined) this.sequence.set(topic, (bySeq = new Map()));
    const key = JSON.stringify([kind, data]);
    const had = bySeq.get(seq);
    if (had === undefined) bySeq.set(seq, { kind, data, key });
    else if (had.key !== key) this.violation(`two messages at ${topic} seq ${seq}: ${had.key} and, at ${where}, ${key}`);
  }

  /** A WebSocket constructor for client `name` whose frames pass through this observer. */
  tap(name: string): WebSocketConstructor {
    const observer = this;
    let connections = 0;
    return class TappedWebSocket implements WebSocketLike {
      private readonly inner: WebSocket;
      private readonly conn: Conn = Observer.connection();
      private readonly id = `${name}/c${++connections}`;
      constructor(url: string) {
        this.inner = new WebSocket(url);
      }
      get binaryType(): string {
        return this.inner.binaryType;
      }
      set binaryType(v: string) {
        this.inner.binaryType = v as 'arraybuffer';
      }
      get readyState(): number {
        return this.inner.readyState;
      }
      send(data: Uint8Array): void {
        observer.outbound(this.conn, data);
        this.inner.send(data);
      }
      close(code?: number, reason?: string): void {
        this.inner.close(code, reason);
      }
      set onopen(f: ((ev: unknown) => void) | null) {
        this.inner.onopen = f as never;
      }
      get onopen(): null {
        return null;
      }
      set onclose(f: ((ev: { code: number; reason: string }) => void) | null) {
        this.inner.onclose = f as never;
      }
      get onclose(): null {
        return null;
      }
      set onerror(f: ((ev: unknown) => void) | null) {
        this.inner.onerror = f as never;
      }
      get onerror(): null {
        return null;
      }
      set onmessage(f: ((ev: { data: unknown }) => void) | null) {
        const id = this.id;
        const conn = this.conn;
        this.inner.onmessage =
          f === null
            ? null
            : (ev: { data: unknown }) => {
                observer.inbound(name, id, conn, ev.data);
                f(ev);
              };
      }
      get onmessage(): null {
        return null;
      }
    } as unknown as WebSocketConstructor;
  }

  private outbound(conn: Conn, data: Uint8Array): void {
    const decoded = decodeFrame(data, 64);
    if (decoded.ok) this.sent(conn, decoded.messages as Array<Record<string, unknown>>);
  }

  /** A new connection's bookkeeping (the tap makes one per WebSocket; tests make their own). */
  static connection(): Conn {
    return { requests: new Map(), topics: new Map() };
  }

  /** Messages a client sent on a connection. */
  sent(conn: Conn, messages: Array<Record<string, unknown>>): void {
    for (const m of messages) {
      if (m['type'] === 'sub' && typeof m['id'] === 'number') {
        conn.requests.set(m['id'], {
          topic: m['topic'] as string,
          ...(typeof m['since'] === 'number' ? { since: m['since'] } : {}),
          ...(typeof m['epoch'] === 'string' ? { epoch: m['epoch'] } : {}),
        });
        // A new request for the topic on this connection: messages wait for its reply.
        conn.topics.set(m['topic'] as string, { replied: false, expected: 0 });
      }
    }
  }

  private inbound(client: string, where: string, conn: Conn, data: unknown): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (bytes === undefined) return;
    const decoded = decodeFrame(bytes, 64);
    if (!decoded.ok) return this.violation(`${where}: a frame the client cannot decode`);
    this.counts.frames++;
    this.received(client, where, conn, decoded.messages as Array<Record<string, unknown>>);
  }

  /** Messages client `client` received on a connection (`where` names it in reports). */
  received(client: string, where: string, conn: Conn, messages: Array<Record<string, unknown>>): void {
    for (const m of messages) {
      const type = m['type'];
      if (type === 'reply' || type === 'error') {
        const request = typeof m['id'] === 'number' ? conn.requests.get(m['id']) : undefined;
        if (request === undefined) continue;
        conn.requests.delete(m['id'] as number);
        if (type === 'error') {
          this.counts.refusals++;
          conn.topics.delete(request.topic);
          continue;
        }
        this.subReply(client, where, conn, request, m);
      } else if (type === 'msg') {
        const topic = m['topic'] as string;
        const seq = m['seq'] as number;
        this.see(where, topic, seq, m['kind'] as string, m['data']);
        const t = conn.topics.get(topic);
        const w = this.wire.get(`${client} ${topic}`);
        if (t === undefined || !t.replied) {
          this.violation(`${where} ${topic}: seq ${seq} on the wire before the subscribe reply`);
          continue;
        }
        if (seq < t.expected) this.violation(`${where} ${topic}: seq ${seq} on the wire again (expected ${t.expected})`);
        else if (seq > t.expected) this.violation(`${where} ${topic}: gap on the wire, seq ${seq} after ${t.expected - 1}`);
        else {
          t.expected = seq + 1;
          if (w !== undefined) {
            w.last = Math.max(w.last, seq);
            if (typeof m['epoch'] === 'string' && w.epoch === '') w.epoch = m['epoch'];
          }
        }
      }
    }
  }

  private subReply(client: string, where: string, conn: Conn, request: { topic: string; since?: number; epoch?: string }, m: Record<string, unknown>): void {
    const topic = request.topic;
    const seq = m['seq'] as number;
    const epoch = (m['epoch'] as string | undefined) ?? '';
    const key = `${client} ${topic}`;
    let w = this.wire.get(key);
    if (w === undefined) this.wire.set(key, (w = { client, topic, firstSeq: undefined, last: 0, epoch: '', skipped: [] }));
    conn.topics.set(topic, { replied: true, expected: seq + 1 });
    if ('state' in m) this.snapshots.push({ where, topic, seq, state: m['state'] });
    if (request.since === undefined) {
      if (w.firstSeq === undefined) w.firstSeq = seq;
      w.last = seq;
      if (epoch !== '') w.epoch = epoch;
      return;
    }
    const since = request.since;
    if (m['recovered'] === true) {
      if (seq !== since) this.violation(`${where} ${topic}: resume from ${since} answered recovered at seq ${seq}`);
      if (w.firstSeq === undefined) w.firstSeq = seq;
      w.last = seq;
      if (epoch !== '' && w.epoch === '') w.epoch = epoch;
      return;
    }
    // recovered: false — a resync.
    this.counts.wireResyncs++;
    const newEpoch = w.epoch !== '' && epoch !== '' && epoch !== w.epoch;
    if (newEpoch) {
      this.counts.epochChanges++;
      this.violation(`${where} ${topic}: resume from ${since} answered with a new epoch (${w.epoch} → ${epoch}) at seq ${seq}: the topic's state was lost`);
    } else if (seq < since) {
      this.violation(`${where} ${topic}: resume from ${since} answered recovered: false at an older seq ${seq} (seqs ${seq + 1}…${since} would come again)`);
    } else if (seq - since <= this.historyLength) {
      this.violation(`${where} ${topic}: resume from ${since} answered recovered: false at seq ${seq}, though history (${this.historyLength}) reaches back`);
    } else {
      w.skipped.push([since, seq]);
    }
    if (w.firstSeq === undefined) w.firstSeq = since;
    w.last = seq;
    if (epoch !== '') w.epoch = epoch;
  }

  /** Subscription-level bookkeeping for one subscription's handler and events. */
  app(client: string, topic: string): AppSub {
    const key = `${client} ${topic}`;
    let a = this.apps.get(key);
    if (a === undefined) this.apps.set(key, (a = { client, topic, last: undefined, delivered: new Set(), resyncs: 0, ended: false }));
    return a;
  }

  /** The handler got a message. */
  delivered(a: AppSub, seq: number, kind: string, data: unknown): void {
    queueMicrotask(() => this.arrived.notify()); // after the library has moved the subscription's seq
    this.see(`${a.client} (application)`, a.topic, seq, kind, data);
    if (a.last === undefined) {
      const first = this.wire.get(`${a.client} ${a.topic}`)?.firstSeq;
      a.last = first ?? seq - 1;
    }
    if (seq <= a.last) this.violation(`${a.client} ${a.topic}: the application got seq ${seq} again (after ${a.last})`);
    else if (seq !== a.last + 1) this.violation(`${a.client} ${a.topic}: the application got seq ${seq} after ${a.last} with no resync`);
    a.last = Math.max(a.last, seq);
    a.delivered.add(seq);
  }

  resynced(a: AppSub, recovered: boolean, seq: number): void {
    queueMicrotask(() => this.arrived.notify());
    if (recovered) return;
    this.counts.appResyncs++;
    a.resyncs++;
    a.last = seq;
  }

  /** The fold of a topic's sequence up to `seq`, or a reason it cannot be computed. */
  fold(topic: string, upTo: number): { state: unknown } | { missing: number } {
    const bySeq = this.sequence.get(topic) ?? new Map<number, Observed>();
    let state: unknown = null;
    for (let s = 1; s <= upTo; s++) {
      const o = bySeq.get(s);
      if (o === undefined) return { missing: s };
      if (o.kind === 'state') state = o.data;
      else if (o.kind === 'patch') state = applyMergePatch(state, o.data);
    }
    return { state };
  }

  /** Every snapshot a reply carried equals the fold at its seq. */
  checkSnapshots(): void {
    for (const s of this.snapshots) {
      const f = this.fold(s.topic, s.seq);
      if ('missing' in f) {
        this.violation(`${s.where} ${s.topic}: snapshot at seq ${s.seq}, but seq ${f.missing} was seen by no subscriber`);
        continue;
      }
      if (!sameValue(f.state, s.state ?? null)) this.violation(`${s.where} ${s.topic}: snapshot at seq ${s.seq} is ${JSON.stringify(s.state)}, the fold is ${JSON.stringify(f.state)}`);
    }
  }
}

/** Deep equality of msgpack-decoded values (maps compared by keys, not key order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b || (a === undefined && b === null) || (a === null && b === undefined);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => sameValue(x, (b as unknown[])[i]));
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
