// Proves the package's public entry points resolve by name as a user imports them (the exports map)
// and work together: chorus/broker's startBroker serves a chorus/client connection in one process.
import { describe, expect, it } from 'vitest';

describe('package exports', () => {
  it('starts a broker with chorus/broker and talks to it with chorus/client', async () => {
    const { startBroker } = await import('chorus/broker');
    const { connect } = await import('chorus/client');
    const protocol = await import('chorus/client/protocol');
    expect(protocol.protocolVersion).toBe(2);
    const broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' });
    try {
      expect(broker.url).toBe(`ws://127.0.0.1:${broker.port}/ws`);
      const client = await connect(broker.url);
      const sub = await client.subscribe('pkg.topic', () => {}, { state: true });
      expect(await client.publish('pkg.topic', { ok: true }, { kind: 'state' })).toEqual({ seq: 1 });
      await client.flush();
      await client.close();
      expect(sub.snapshot).toEqual({ seq: 0, epoch: expect.any(String), state: null });
    } finally {
      await broker.close();
    }
    await expect(startBroker({ payloadBytesMax: 2048, frameBytesMax: 1024 })).rejects.toThrow(/payload-bytes-max/);
  });
});
