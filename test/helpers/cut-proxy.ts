/**
 * A loopback TCP proxy in front of a broker that a test can use to cut every
 * connection abruptly (no close frame: the client sees 1006), as a network
 * failure or a crashed load balancer would.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class CutProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  connections = 0;
  /** While true, new connections are dropped at once (the broker looks unreachable). */
  refuse = false;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      if (this.refuse) {
        client.destroy();
        return;
      }
      this.connections++;
      const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Destroys every proxied connection now. */
  cutAll(): number {
    const n = this.pairs.size;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    return n;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
