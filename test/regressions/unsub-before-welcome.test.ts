// Regression: an unsubscribe made before the welcome of a new link, for a subscription pipelined
// behind the hello, leaves nothing at a mesh broker that had to load the topic first: the
// broker lets a waiting subscribe go when its unsub comes (Topics.unsubscribe), so the client is
// neither subscribed there nor in the room's presence set.
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type Client, type Subscription } from '../../client/index.js';
import { lwgOf, ownersOf } from '../../lightweight-groups/index.js';
import { Condition } from '../helpers/wait.js';
import { MeshHarness } from '../helpers/mesh.js';

const mesh = new MeshHarness();
const own: Client[] = [];
afterEach(async (context) => {
  await Promise.allSettled(own.splice(0).map((c) => c.close()));
  await mesh.finish(context.task.name);
});

/** Calls `hook` once, right after the first frame of the n-th socket (n from 1) is sent. */
function hookedWebSocket(onFirstSend: Map<number, () => void>, sockets: WebSocket[]): typeof WebSocket {
  return class extends WebSocket {
    private sent = false;
    private readonly n: number;
    constructor(url: string) {
      super(url);
      sockets.push(this);
      this.n = sockets.length;
    }
    override send(data: Uint8Array): void {
      super.send(data);
      if (this.sent) return;
      this.sent = true;
      onFirstSend.get(this.n)?.();
    }
  } as unknown as typeof WebSocket;
}

it('an unsubscribe before the welcome leaves no subscription (nor presence) at the broker', { timeout: 120_000 }, async () => {
  const brokers = await mesh.start(3);
  const cluster = (await (await fetch(`${brokers[0]!.httpUrl}/api/v1/cluster`)).json()) as { lwgs: unknown[] };
  let topic = '';
  for (let n = 0; n < 10_000 && topic === ''; n++) {
    const owners = ownersOf(lwgOf(`ub.${n}`, cluster.lwgs.length), ['b0', 'b1', 'b2'], 2);
    if (!owners.includes('b2')) topic = `ub.${n}`;
  }
  const watcher = await mesh.client(brokers[0]!.url);
  const seen = await watcher.subscribe(topic, () => {}, { presence: { hidden: true } });

  const hooks = new Map<number, () => void>();
  const sockets: WebSocket[] = [];
  // b0 first (keeps the topic), then b2 (does not).
  const c = await connect([brokers[0]!.url, brokers[2]!.url], { WebSocket: hookedWebSocket(hooks, sockets) as never, reconnect: { delayMinMs: 10, delayMaxMs: 20 } });
  own.push(c);
  c.on('error', () => {});
  const sub: Subscription = await c.subscribe(topic, () => {}, { presence: { info: 'player' } });
  const unsubscribed = new Promise<void>((resolve) => hooks.set(2, () => void sub.unsubscribe().then(resolve)));
  const reconnected = new Promise<void>((resolve) => c.on('reconnected', () => resolve()));
  sockets[0]!.terminate(); // the link drops; the client goes on to b2, its subscribe behind the hello
  await unsubscribed;
  await reconnected;
  // A marker player joins through b2 after that: once the watcher sees it, a join of the let-go
  // subscription (ordered before it at b2) would have shown too.
  const marker = await mesh.client(brokers[2]!.url);
  const joined = new Condition();
  seen.on('presence', () => joined.notify());
  await marker.subscribe(topic, () => {}, { presence: { info: 'marker' } });
  await joined.wait(() => Object.values(seen.presence ?? {}).some((e) => e.info === 'marker'), 20_000, 'the marker joined');
  expect(Object.values(seen.presence ?? {}).map((e) => e.info)).toEqual(['marker']);
});
