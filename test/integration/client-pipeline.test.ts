// Proves against a real broker process that the client sends the subscriptions made before the
// welcome in the hello's own frame (createClient), that it connects again without pipelining when a
// broker holds less before its welcome than that frame, and that unanswered publishes are bounded
// in bytes as well as in count.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, QueueFullError, type Client, type Message } from '../../client/index.js';
import { decodeFrame } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition } from '../helpers/wait.js';

/** A `ws` WebSocket that records the types of the messages in every frame it sends, per socket. */
function recordingWebSocket(sockets: string[][][]): typeof WebSocket {
  return class extends WebSocket {
    private readonly frames: string[][] = [];
    constructor(url: string) {
      super(url);
      sockets.push(this.frames);
    }
    override send(data: Uint8Array): void {
      const decoded = decodeFrame(data);
      this.frames.push(decoded.ok ? decoded.messages.map((m) => (m as { type: string }).type) : ['?']);
      super.send(data);
    }
  } as unknown as typeof WebSocket;
}

describe('client pipelining', () => {
  let broker: BrokerProcess | undefined;
  let clients: Client[] = [];
  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
    await broker?.stop();
    broker = undefined;
  });

  it('sends the first subscriptions behind the hello, in one frame, and they work', async () => {
    broker = await startBrokerProcess([]);
    const sockets: string[][][] = [];
    const c = createClient(broker.url, { WebSocket: recordingWebSocket(sockets) as never });
    clients.push(c);
    const got = new Condition();
    const seen: Message[] = [];
    const subs = ['pipe.a', 'pipe.b'].map((t) => c.subscribe(t, (m) => (seen.push(m), got.notify())));
    await c.ready;
    await Promise.all(subs);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]![0]).toEqual(['hello', 'sub', 'sub']);
    await c.publish('pipe.b', 'over the pipelined subscription');
    await got.wait(() => seen.length === 1, 10_000, 'the delivery');
    expect(seen[0]).toMatchObject({ topic: 'pipe.b', seq: 1, data: 'over the pipelined subscription' });
  });

  it('connects again without pipelining when the broker holds less before its welcome', async () => {
    broker = await startBrokerProcess(['--hello-bytes-max', '1024']);
    const sockets: string[][][] = [];
    const c = createClient(broker.url, { WebSocket: recordingWebSocket(sockets) as never });
    clients.push(c);
    // Five subscribes of ~200 bytes each: more than 1 KiB in the hello's frame.
    const topics = Array.from({ length: 5 }, (_, i) => `pipe.long.${String(i).padStart(190, 'x')}`);
    const subs = topics.map((t) => c.subscribe(t, () => {}));
    await c.ready;
    await Promise.all(subs);
    expect(sockets).toHaveLength(2);
    expect(sockets[0]![0]).toEqual(['hello', 'sub', 'sub', 'sub', 'sub', 'sub']);
    expect(sockets[1]![0]).toEqual(['hello']);
    expect(sockets[1]![1]).toEqual(['sub', 'sub', 'sub', 'sub', 'sub']);
    expect(await c.publish(topics[4]!, 'fine')).toEqual({ seq: 1 });
  });

  it('bounds unanswered publishes by their bytes, always letting one through', async () => {
    broker = await startBrokerProcess([]);
    const c = createClient(broker.url, { publishBytesMax: 1000 });
    clients.push(c);
    const big = new Uint8Array(600);
    // Before the welcome both wait; the second would make 1,200 bytes.
    const first = c.publish('pipe.bytes', big);
    await expect(c.publish('pipe.bytes', big)).rejects.toBeInstanceOf(QueueFullError);
    const alone = c.publish('pipe.bytes', new Uint8Array(300));
    await c.ready;
    expect(await first).toEqual({ seq: 1 });
    expect(await alone).toEqual({ seq: 2 });
    // One payload above the bound still goes when nothing else waits.
    expect(await c.publish('pipe.bytes', new Uint8Array(2000))).toEqual({ seq: 3 });
  });
});
