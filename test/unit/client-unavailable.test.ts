// The client library and the 503 Unavailable refusal (a topic whose lightweight group waits for a
// copy, docs/mesh.md "Waiting groups"), against a fake broker of protocol 2 that refuses every
// publish while `waiting` and acknowledges them in order otherwise — deterministic, with fake
// timers; test/integration/lwg-wait.test.ts does it with real brokers. Found by an outside review:
// per-publish retry timers let later publishes overtake refused ones, and outlived close().
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../client/index.js';
import { decodeFrame, encodeFrame, ErrorCode } from '../../client/protocol/index.js';
import type { WebSocketLike } from '../../client/websocket.js';
import { PublishQueue } from '../../client/publisher.js';
import { RequestError } from '../../client/errors.js';

/** A fake broker of protocol 2: while `waiting`, every pub is refused Unavailable; else acked in order. */
class World {
  waiting = true;
  /** When set, only this topic's group waits. */
  only: string | undefined;
  seq = 0;
  applied: number[] = [];
  topics: string[] = [];
  sockets: FakeSocket[] = [];
}

function fakeSocketFor(world: World) {
  return class FakeSocket implements WebSocketLike {
    binaryType = 'arraybuffer';
    readyState = 0;
    onopen: ((ev: unknown) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    constructor(readonly url: string) {
      world.sockets.push(this as never);
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }
    private reply(messages: unknown[]): void {
      const frame = encodeFrame(messages);
      setTimeout(() => this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) }), 0);
    }
    send(data: Uint8Array): void {
      const r = decodeFrame(data);
      if (!r.ok) throw new Error('bad frame');
      const out: unknown[] = [];
      for (const m of r.messages as Array<Record<string, unknown>>) {
        if (m.type === 'hello') {
          out.push({ type: 'welcome', v: 2, session: 's', client: 'c', broker: 'b', pingIntervalMs: 60_000, limits: { frameBytesMax: 1 << 20, payloadBytesMax: 1 << 16, stateBytesMax: 1 << 16, subscriptionsMax: 100, topicBytesMax: 255, presenceInfoBytesMax: 1024 } });
        } else if (m.type === 'pub') {
          if (world.waiting && (world.only === undefined || m.topic === world.only)) out.push({ type: 'error', id: m.id, code: ErrorCode.Unavailable, message: 'group waits' });
          else {
            world.applied.push(m.pid as number);
            world.topics.push(m.topic as string);
            out.push({ type: 'acks', seqs: [++world.seq] });
          }
        }
      }
      if (out.length > 0) this.reply(out);
    }
    close(): void {
      this.readyState = 3;
    }
  };
}
type FakeSocket = InstanceType<ReturnType<typeof fakeSocketFor>>;

afterEach(() => {
  vi.useRealTimers();
});

describe('a publish refused as Unavailable', () => {
  it('is sent again on the same connection, and no later publish overtakes it', async () => {
    vi.useFakeTimers();
    const world = new World();
    const client = createClient('ws://a', { WebSocket: fakeSocketFor(world) as never, reconnect: { delayMinMs: 20, delayMaxMs: 2000 } });
    await vi.advanceTimersByTimeAsync(10);
    await client.ready;
    const results: Array<{ seq: number } | undefined> = [];
    const publish = (i: number): void => void client.publish('room.1', i).then((r) => (results[i] = r as { seq: number }));
    // The app publishes steadily to one topic during the wait, then after it.
    for (let i = 0; i < 10; i++) {
      publish(i);
      await vi.advanceTimersByTimeAsync(15);
    }
    world.waiting = false;
    for (let i = 10; i < 13; i++) publish(i);
    for (let t = 0; t < 100 && results.filter((r) => r !== undefined).length < 13; t++) await vi.advanceTimersByTimeAsync(100);
    expect(results.map((r) => r?.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(world.sockets).toHaveLength(1);
    await client.close();
  });

  it('pauses only the refused topic: other topics publish on meanwhile', async () => {
    vi.useFakeTimers();
    const world = new World();
    world.only = 'room.1';
    const client = createClient('ws://a', { WebSocket: fakeSocketFor(world) as never, reconnect: { delayMinMs: 200, delayMaxMs: 2000 } });
    await vi.advanceTimersByTimeAsync(10);
    await client.ready;
    const waiting = client.publish('room.1', 'a');
    await vi.advanceTimersByTimeAsync(5); // refused: room.1 pauses
    // Published during room.1's pause: room.2's go out and are applied at once, room.1's wait.
    const others = [client.publish('room.2', 1), client.publish('room.1', 'b'), client.publish('room.2', 2)];
    await vi.advanceTimersByTimeAsync(20);
    expect(world.topics).toEqual(['room.2', 'room.2']);
    world.waiting = false;
    // Until room.1's publishes are answered, not just applied: the broker's answer comes a tick later
    // (a setTimeout(0) inside a fake-timer step runs 1 ms on), perhaps past the end of a 100 ms step.
    let answered = false;
    void Promise.allSettled([waiting, others[1]!]).then(() => (answered = true));
    for (let t = 0; t < 100 && !answered; t++) await vi.advanceTimersByTimeAsync(100);
    expect(world.topics).toEqual(['room.2', 'room.2', 'room.1', 'room.1']);
    // room.1's publishes in publish order: 'a' before 'b'.
    expect((await waiting).seq).toBe(3);
    expect((await others[1]!).seq).toBe(4);
    expect(world.sockets).toHaveLength(1);
    await client.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind once the client is closed', async () => {
    vi.useFakeTimers();
    const world = new World();
    const client = createClient('ws://a', { WebSocket: fakeSocketFor(world) as never, reconnect: { delayMinMs: 100, delayMaxMs: 60_000 } });
    await vi.advanceTimersByTimeAsync(10);
    await client.ready;
    const p = client.publish('room.1', 1).catch((err: unknown) => err);
    for (let i = 0; i < 12; i++) await vi.advanceTimersByTimeAsync(5_000);
    await client.close();
    expect(await p).toMatchObject({ name: expect.stringMatching(/Closed/) });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps no pause for a topic once its resent publish is answered, however it is answered', async () => {
    // Found by an outside review: refused Unavailable, then (resent) refused for good, a topic's
    // pause stayed for the client's whole life — one per topic, without bound.
    vi.useFakeTimers();
    const queue = new PublishQueue(4096, 1 << 20);
    const resent: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const entry = queue.add(`room.${i}`, 'event', new Uint8Array(1));
      void entry.promise.catch(() => undefined);
      queue.pause(entry.pid, () => 10, (held) => resent.push(...held.map((e) => e.pid)));
    }
    expect(queue.pausedTopics).toBe(1000);
    await vi.advanceTimersByTimeAsync(10);
    expect(resent).toHaveLength(1000);
    resent.forEach((pid, i) => queue.settle(pid, i % 2 === 0 ? new RequestError(ErrorCode.Forbidden, 'no') : { seq: 1 }));
    expect(queue.pausedTopics).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
