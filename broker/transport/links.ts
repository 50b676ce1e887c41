/**
 * TCP links between brokers: a listener on the cluster port and dialed
 * connections to peers, each authenticated by the cluster secret
 * (handshake.ts) before it carries anything. Values to one peer in one
 * event-loop turn leave in one write. A link that drops is dialed again with
 * backoff; what was queued for a peer with no link is bounded and may be lost
 * — the core group retransmits, so the transport need not.
 *
 * Peers are named by member id once authenticated; before that (a joiner's
 * contacts, the seed list) by address `host:port`.
 *
 * With `tls`, links run over TLS (the secret handshake on top). With a CA as
 * well, it is mutual TLS: each side presents a certificate and accepts only
 * peers whose certificate that CA signed (and, when dialing, whose name
 * matches the address dialed). Without a CA the traffic is encrypted against
 * eavesdroppers but peers are authenticated by the cluster secret alone.
 */
import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import { FrameDecoder, encodeLinkFrame } from './framing.js';
import { isMemberIdLike, isNonce, newNonce, peerProtocol, peerProtocolRefusal, proof, proofMatches } from './handshake.js';

export interface LinksOptions {
  /** This broker's member id (a new incarnation gets new Links). */
  self: string;
  /** The shared cluster secret. */
  secret: string;
  /**
   * Interface and port of the cluster listener; port 0 picks a free one. When the host is one
   * specific IP address, links this broker dials leave from it too (`sourceFor`).
   */
  host: string;
  port: number;
  /** The address peers should dial back, if not host:port (e.g. a pod's DNS name). */
  advertise?: string;
  /** Largest frame accepted from an authenticated peer, bytes. Default 256 MiB (a joiner's state comes in one). */
  frameBytesMax?: number;
  /** Connections still in their handshake at once; more are refused. Default 64. */
  handshakesMax?: number;
  /** Time a connection has to authenticate, ms. Default 5000. */
  handshakeTimeoutMs?: number;
  /** Frames queued for a peer without a link before the oldest are dropped. Default 10 000. */
  queueMax?: number;
  /** TLS on links: this broker's certificate and key (PEM), and the CA that signs peers' (mutual TLS). */
  tls?: { cert: string; key: string; ca?: string };
  onMessage(from: string, value: unknown): void;
  /** A connection was refused (bad secret, bad handshake, bad frame): counted by the caller. */
  onRefused?(reason: string): void;
}

interface Link {
  socket: Socket;
  peer: string | undefined;
  /** This broker dialed it. */
  dialer: boolean;
  authenticated: boolean;
  /** When it authenticated (ms, `Date.now`), for telling crossed dials from a replacement. */
  authenticatedAt: number;
  decoder: FrameDecoder;
  nonce: string;
}

export class Links {
  private server: Server | undefined;
  /** Authenticated links by peer member id. */
  private readonly byPeer = new Map<string, Link>();
  /** Addresses to dial, by member id (learned in handshakes) or by address itself. */
  private readonly addressOf = new Map<string, string>();
  /**
   * Every address a peer was reached at or claimed, to its member id: one peer may go by several
   * (seeds found as IP addresses while it advertises a DNS name). Known by one only, a send to the
   * other dialed a second link, which replaced the first, whose dial then took the peer for gone
   * and dialed again — the two swapped links for as long as both were in use.
   */
  private readonly aliases = new Map<string, string>();
  private readonly queues = new Map<string, Uint8Array[]>();
  private readonly dialing = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();
  private readonly sockets = new Set<Socket>();
  private flushScheduled = false;
  private pendingHandshakes = 0;
  private closed = false;
  port = 0;
  /** Bytes written to and read from broker links (frames, handshakes included), for the metrics. */
  readonly bytes = { out: 0, in: 0 };

  private readonly options: LinksOptions;

  constructor(options: LinksOptions) {
    this.options = { ...options };
  }

  get address(): string {
    return this.options.advertise ?? `${this.options.host}:${this.port}`;
  }

  async listen(): Promise<number> {
    const tls = this.options.tls;
    if (tls === undefined) {
      this.server = createServer((socket) => this.accept(socket, false, undefined));
    } else {
      const mutual = tls.ca !== undefined;
      const server = tlsCreateServer({ cert: tls.cert, key: tls.key, ...(mutual ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, (socket) => this.accept(socket, false, undefined));
      // A peer without an acceptable certificate never gets past TLS: refused and counted.
      server.on('tlsClientError', () => this.options.onRefused?.('tls'));
      this.server = server;
    }
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host, () => resolve());
    });
    // After start-up a listener error (out of file descriptors …) must not take the process down.
    this.server.on('error', (err: Error) => this.options.onRefused?.(`listener: ${err.message}`));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : this.options.port;
    return this.port;
  }

  /**
   * Sends a value to a member id or an address; dials if there is no link yet. With `frames`, a
   * value sent before through the same map is not encoded again (the caller keeps the map only
   * while its values cannot change).
   */
  send(to: string, value: unknown, frames?: Map<unknown, Uint8Array>): void {
    if (this.closed) return;
    let queue = this.queues.get(to);
    if (queue === undefined) this.queues.set(to, (queue = []));
    let frame = frames?.get(value);
    if (frame === undefined) {
      frame = encodeLinkFrame(value);
      frames?.set(value, frame);
    }
    queue.push(frame);
    if (queue.length > (this.options.queueMax ?? 10_000)) queue.shift();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Written right after the code that sends (the runtime's perform) returns, once for all it
      // sent: a setImmediate here would write one pass of the event loop later, after its reads.
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Takes a new identity (a new incarnation of this broker): every link is
   * dropped, and peers are authenticated again under the new member id.
   */
  setSelf(self: string): void {
    this.options.self = self;
    this.byPeer.clear();
    this.queues.clear();
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * The source address for a connection to `host`: the cluster host when it is one specific IP
   * address (not 0.0.0.0 or ::), so that peers — and firewalls, and the test harness, which tells
   * brokers apart by it — see this broker's links come from the address it listens on (on a
   * multi-homed host the kernel would otherwise pick one by its routes). Not across families, and
   * a loopback host only towards a loopback destination; otherwise the kernel chooses.
   */
  sourceFor(host: string): string | undefined {
    const own = this.options.host.replace(/^\[|\]$/g, '');
    const family = isIP(own);
    if (family === 0 || own === '0.0.0.0' || own === '::') return undefined;
    const to = host.replace(/^\[|\]$/g, '');
    const toFamily = isIP(to);
    if (toFamily !== 0 && toFamily !== family) return undefined;
    if (isLoopback(own) && !(toFamily === 0 ? to === 'localhost' : isLoopback(to))) return undefined;
    return own;
  }

  /** Peers with an authenticated link now. */
  connectedPeers(): string[] {
    return [...this.byPeer.keys()];
  }

  /** Whether a peer living at `address` has an authenticated link now. */
  authenticatedAt(address: string): boolean {
    return this.peerAt(address) !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.dialing.values()) clearTimeout(d.timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [to, frames] of this.queues) {
      const link = this.byPeer.get(to) ?? this.byPeer.get(this.peerAt(to) ?? '');
      if (link === undefined) {
        this.dial(to);
        continue;
      }
      this.queues.delete(to);
      if (frames.length === 0) continue;
      const data = Buffer.concat(frames);
      this.bytes.out += data.length;
      link.socket.write(data);
    }
  }

  /** The member id with a link that lives at an address. */
  private peerAt(address: string): string | undefined {
    const id = this.aliases.get(address);
    return id !== undefined && this.byPeer.has(id) ? id : undefined;
  }

  private dial(to: string): void {
    const address = this.addressOf.get(to) ?? (to.includes(':') && !isMemberIdLike(to) ? to : undefined);
    // An address with no usable port (a peer's claim) would throw in the connect, in a microtask.
    if (address === undefined || !isDialable(address) || this.dialing.has(address) || this.closed) return;
    const state = { attempt: 0 } as { attempt: number; timer?: NodeJS.Timeout };
    this.dialing.set(address, state);
    // A link to the peer is up (it dialed too, and its link was kept; or it dialed meanwhile): this
    // dial is over — no second link to swap for it. Left on the books with no attempt pending, it
    // would pass for one in progress, and once that link dropped the peer could never be dialed again.
    const over = (): boolean => {
      if (!this.authenticatedAt(address)) return false;
      if (this.dialing.get(address) === state) this.dialing.delete(address);
      return true;
    };
    const attempt = (): void => {
      if (this.closed || over()) return;
      const [host, port] = splitAddress(address);
      const tls = this.options.tls;
      const from = this.sourceFor(host);
      const source = from === undefined ? {} : { localAddress: from, family: isIP(from) };
      const socket =
        tls === undefined
          ? createConnection({ host, port, ...source })
          : tlsConnect({ host, port, ...source, cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? { rejectUnauthorized: false } : { ca: tls.ca }), ...(isIP(host) === 0 ? { servername: host } : {}) });
      if (tls !== undefined) {
        socket.on('error', (err: Error & { code?: string }) => {
          if (/CERT|SSL|TLS|VERIFY|ALTNAME/.test(err.code ?? '')) this.options.onRefused?.('tls');
        });
      }
      this.accept(socket, true, address);
      socket.once('close', () => {
        if (this.closed || over()) return;
        state.attempt++;
        const delay = Math.min(5000, 50 * 2 ** Math.min(state.attempt, 7)) * (0.5 + Math.random() / 2);
        state.timer = setTimeout(attempt, delay);
      });
    };
    attempt();
  }

  private accept(socket: Socket, dialer: boolean, address: string | undefined): void {
    // Before it proves the secret a peer gets small frames only, and only so many may be pending.
    if (this.pendingHandshakes >= (this.options.handshakesMax ?? 64)) {
      this.options.onRefused?.('too many pending handshakes');
      socket.destroy();
      return;
    }
    this.pendingHandshakes++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const link: Link = { socket, peer: undefined, dialer, authenticated: false, authenticatedAt: 0, decoder: new FrameDecoder(preAuthFrameBytesMax), nonce: newNonce() };
    const timer = setTimeout(() => this.refuse(link, 'handshake timeout'), this.options.handshakeTimeoutMs ?? 5000);
    timer.unref();
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      if (!link.authenticated) this.pendingHandshakes--;
      this.sockets.delete(socket);
      if (link.peer !== undefined && this.byPeer.get(link.peer) === link) this.byPeer.delete(link.peer);
    });
    socket.on('data', (chunk: Buffer) => {
      this.bytes.in += chunk.length;
      link.decoder.append(chunk);
      for (let event = link.decoder.next(); event !== undefined; event = link.decoder.next()) {
        if (!event.ok) return this.refuse(link, `bad frame: ${event.reason}`);
        if (link.authenticated) this.options.onMessage(link.peer!, event.value);
        else this.handshake(link, dialer, event.value, timer, address);
        if (socket.destroyed) return;
      }
    });
    if (dialer) socket.once(this.options.tls === undefined ? 'connect' : 'secureConnect', () => socket.write(encodeLinkFrame({ t: 'hello', id: this.options.self, nonce: link.nonce, addr: this.address, pv: peerProtocol })));
  }

  private handshake(link: Link, dialer: boolean, value: unknown, timer: NodeJS.Timeout, address: string | undefined): void {
    const m = (value ?? {}) as Record<string, unknown>;
    const { secret, self } = this.options;
    if (!dialer && m['t'] === 'hello' && link.peer === undefined) {
      if (!isMemberIdLike(m['id']) || !isNonce(m['nonce'])) return this.refuse(link, 'bad hello');
      const refusal = peerProtocolRefusal(m['pv']);
      if (refusal !== undefined) return this.refuse(link, refusal);
      link.peer = m['id'];
      (link as Link & { dialerNonce?: string }).dialerNonce = m['nonce'];
      if (typeof m['addr'] === 'string' && m['addr'].length < 256) (link as Link & { claimedAddress?: string }).claimedAddress = m['addr'];
      link.socket.write(encodeLinkFrame({ t: 'challenge', id: self, nonce: link.nonce, pv: peerProtocol, proof: proof(secret, 'listener', m['nonce'], link.nonce, self, m['id']) }));
      return;
    }
    if (dialer && m['t'] === 'challenge' && link.peer === undefined) {
      if (!isMemberIdLike(m['id']) || !isNonce(m['nonce'])) return this.refuse(link, 'bad challenge');
      if (!proofMatches(proof(secret, 'listener', link.nonce, m['nonce'], m['id'], self), m['proof'])) return this.refuse(link, 'wrong secret (listener)');
      const refusal = peerProtocolRefusal(m['pv']);
      if (refusal !== undefined) return this.refuse(link, refusal);
      link.peer = m['id'];
      link.socket.write(encodeLinkFrame({ t: 'proof', proof: proof(secret, 'dialer', link.nonce, m['nonce'], self, m['id']) }));
      if (address !== undefined) {
        this.addressOf.set(m['id'], address);
        this.aliases.set(address, m['id']);
      }
      return this.authenticated(link, timer);
    }
    if (!dialer && m['t'] === 'proof' && link.peer !== undefined) {
      const dialerNonce = (link as Link & { dialerNonce?: string }).dialerNonce!;
      if (!proofMatches(proof(secret, 'dialer', dialerNonce, link.nonce, link.peer, self), m['proof'])) return this.refuse(link, 'wrong secret (dialer)');
      // Only a peer that proved the secret may say where to dial it back.
      const claimed = (link as Link & { claimedAddress?: string }).claimedAddress;
      if (claimed !== undefined) {
        this.addressOf.set(link.peer, claimed);
        this.aliases.set(claimed, link.peer);
      }
      return this.authenticated(link, timer);
    }
    this.refuse(link, 'unexpected handshake message');
  }

  private authenticated(link: Link, timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    link.authenticated = true;
    link.authenticatedAt = Date.now();
    this.pendingHandshakes--;
    link.decoder.frameBytesMax = this.options.frameBytesMax ?? 256 * 1024 * 1024;
    const previous = this.byPeer.get(link.peer!);
    if (previous !== undefined && previous !== link) {
      const kept = keptOf(previous, link, this.options.self, link.peer!);
      (kept === link ? previous : link).socket.end();
      if (kept === previous) return this.flush();
    }
    this.byPeer.set(link.peer!, link);
    const address = this.addressOf.get(link.peer!);
    // Whoever lived at this address before (an older incarnation) is gone, under every address it had.
    for (const [id, addr] of this.addressOf) {
      if (addr !== address || id === link.peer) continue;
      this.addressOf.delete(id);
      for (const [alias, of] of this.aliases) if (of === id) this.aliases.delete(alias);
    }
    const dialing = address === undefined ? undefined : this.dialing.get(address);
    if (dialing !== undefined) dialing.attempt = 0;
    this.flush();
  }

  private refuse(link: Link, reason: string): void {
    this.options.onRefused?.(reason);
    link.socket.destroy();
  }
}

/**
 * Two authenticated links to one peer: which to keep. Usually the newest — the peer dialed again,
 * so its side of the other is gone or going. But two brokers that dial each other at once each
 * get both links, and each end authenticates them in its own order (a dialer at the challenge, a
 * listener at the proof), so "the newest" can name a different link at each end, and both close.
 * Links of opposite directions authenticated within `crossedWithinMs` of each other are taken for
 * crossed dials, and both ends keep the one the lower member id dialed: a choice they make alike.
 */
function keptOf(previous: Link, link: Link, self: string, peer: string): Link {
  const crossed = previous.dialer !== link.dialer && link.authenticatedAt - previous.authenticatedAt < crossedWithinMs;
  if (!crossed) return link;
  const lowerDials = self < peer;
  return link.dialer === lowerDials ? link : previous;
}

/**
 * Crossed dials authenticate within a round trip or two of each other; a peer that dials again
 * after its link dropped does so after a backoff of at least 25 ms, and usually after the close
 * reached this end. A replacement taken for a crossing leaves the peer's new link closed and the
 * old one kept until its close arrives; the peer then dials again (the old rule's cost, once).
 */
const crossedWithinMs = 1000;

/** Largest frame a peer may send before it has proved the secret (handshake messages are tiny). */
const preAuthFrameBytesMax = 4096;

function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || /^::ffff:127\./i.test(ip) || ip === '::1';
}

/** `host:port` with a host and a port a connect accepts. */
function isDialable(address: string): boolean {
  const [host, port] = splitAddress(address);
  return host.length > 0 && Number.isInteger(port) && port > 0 && port < 65536;
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
