/**
 * Sockets before they are WebSockets. Every TCP connection to the client port
 * is counted from its first moment, by client address (an IPv6 /64 counts as
 * one), until it is upgraded — then the gateway counts it as a connection —
 * or closes. One address may hold at most `pendingPerAddress` of them (more
 * are dropped on arrival), and all addresses together at most `pendingMax`:
 * past that the oldest is dropped to make room, so sockets left idle until
 * the header timeout cannot keep newcomers out, from one address or many.
 * (A plain HTTP API client's keep-alive socket is never upgraded: it counts
 * here while it stays open, and is among the oldest to go when room is short.)
 */
import type { Socket } from 'node:net';
import { addressKey } from './addresses.js';

export interface AdmissionOptions {
  /** Sockets not yet upgraded to a WebSocket, from all addresses. */
  pendingMax: number;
  /** Sockets not yet upgraded to a WebSocket, from one address (IPv6: one /64). */
  pendingPerAddress: number;
}

/** Why a socket was dropped: its address had its share already, or it was the oldest when room ran out. */
export type AdmissionRefusal = 'address' | 'shed';

interface Pending {
  socket: Socket;
  address: string;
}

/** The remote end of a socket, TLS or plain (a TLS socket reports its TCP socket's). */
interface Remote {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

export class Admission {
  /** Pre-upgrade sockets by remote `ip|port` (one TCP connection), oldest first. */
  private readonly pending = new Map<string, Pending>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly options: AdmissionOptions,
    private readonly refused: (why: AdmissionRefusal) => void,
  ) {}

  /** The listener's 'connection' event: a new TCP connection. */
  admit(socket: Socket): void {
    const id = remoteId(socket);
    if (id === undefined) return void socket.destroy(); // gone already
    const address = addressKey(socket.remoteAddress!);
    if ((this.perAddress.get(address) ?? 0) >= this.options.pendingPerAddress) {
      this.refused('address');
      return void socket.destroy();
    }
    if (this.pending.size >= this.options.pendingMax) {
      const [oldestId, oldest] = this.pending.entries().next().value!;
      this.release(oldestId);
      this.refused('shed');
      oldest.socket.destroy();
    }
    this.pending.set(id, { socket, address });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      if (this.pending.get(id)?.socket === socket) this.release(id);
    });
  }

  /** The socket under a request became a WebSocket: from now on the gateway counts it. */
  upgraded(socket: Remote): void {
    const id = remoteId(socket);
    if (id !== undefined) this.release(id);
  }

  /** Pre-upgrade sockets now (all addresses). */
  get size(): number {
    return this.pending.size;
  }

  private release(id: string): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    const left = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(entry.address, left);
    else this.perAddress.delete(entry.address);
  }
}

function remoteId(socket: Remote): string | undefined {
  return socket.remoteAddress === undefined || socket.remotePort === undefined ? undefined : `${socket.remoteAddress}|${socket.remotePort}`;
}
