// Regression: a client with more subscriptions than a broker takes messages in one frame
// (--frame-messages-max 16, the least allowed) still connects: the hello's frame carries at most
// 15 subscribes, and a broker that refuses a pipelined frame anyway is answered by connecting
// again without pipelining.
import { afterEach, expect, it } from 'vitest';
import { createClient, type Client } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

let broker: BrokerProcess | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await broker?.stop();
});

it('a client with 20 subscriptions connects to a broker with --frame-messages-max 16', async () => {
  broker = await startBrokerProcess(['--frame-messages-max', '16']);
  client = createClient(broker.url, { reconnect: { delayMinMs: 10, delayMaxMs: 50 } });
  const closes: number[] = [];
  client.on('closed', (e) => closes.push(e.code));
  const subs = Array.from({ length: 20 }, (_, i) => client!.subscribe(`fm.t${i}`, () => {}));
  subs.forEach((p) => p.catch(() => undefined));
  await expect(client.ready).resolves.toBeUndefined();
  await Promise.all(subs);
  expect(closes).toEqual([]);
});
