// Proves per-topic total order with no gap and no duplicate under a publish storm: three publishers
// race on one topic through a real broker process while subscribers join with state and with `since`;
// every subscriber's snapshot plus deliveries must equal the publisher-side sequence, and the state
// each rebuilds must equal the broker's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client, type Message, type Subscription } from '../../client/index.js';
import { applyMergePatch } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Condition, within } from '../helpers/wait.js';

const topic = 'storm.room';
const publishers = 3;
const perPublisher = 1500;
const total = publishers * perPublisher;

interface Watcher {
  name: string;
  sub: Subscription;
  startSeq: number;
  startState: unknown;
  messages: Message[];
  recovered?: boolean;
}

describe('publish storm with concurrent subscribers', () => {
  let broker: BrokerProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    broker = await startBrokerProcess(['--history-length-max', '2000']);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await broker?.stop();
  });

  it('gives every subscriber the same gap-free sequence after its snapshot', async () => {
    const arrived = new Condition();
    const published = new Map<number, { p: number; n: number; kind: string; data: unknown }>();
    const watchers: Watcher[] = [];

    const watch = async (name: string, options: { state?: boolean; since?: number }): Promise<Watcher> => {
      const client = await connect(broker.url);
      clients.push(client);
      const messages: Message[] = [];
      const watcher = { name, messages } as Watcher;
      const sub = await client.subscribe(
        topic,
        (m) => {
          messages.push(m);
          arrived.notify();
        },
        { ...options, onResync: (e) => (watcher.recovered = e.recovered) },
      );
      watcher.sub = sub;
      watcher.startSeq = options.since !== undefined && watcher.recovered !== false ? options.since : sub.snapshot!.seq;
      watcher.startState = sub.snapshot!.state;
      watchers.push(watcher);
      return watcher;
    };

    await watch('before-any', { state: true });
    const pubClients = await Promise.all(Array.from({ length: publishers }, () => connect(broker.url)));
    clients.push(...pubClients);

    const storm = pubClients.map(async (client, p) => {
      for (let n = 0; n < perPublisher; n++) {
        const kind = n % 10 === 0 ? 'state' : n % 3 === 0 ? 'patch' : 'event';
        const data = kind === 'state' ? { p, n } : kind === 'patch' ? { [`k${p}`]: n } : { p, n };
        const promise = client.publish(topic, data, { kind }).then(({ seq }) => {
          expect(published.has(seq), `seq ${seq} acknowledged twice`).toBe(false);
          published.set(seq, { p, n, kind, data });
        });
        if (n % 50 === 49) await promise; // bounded window per publisher
      }
      await client.flush();
    });

    // Subscribers join while the storm runs, each at a different moment.
    const joins = (async () => {
      for (let i = 0; i < 6; i++) {
        await within(arrived.wait(() => watchers[0]!.messages.length >= (i + 1) * 500, 20_000, `storm progress ${i}`), 25_000, 'storm progress');
        if (i % 2 === 0) await watch(`state-${i}`, { state: true });
        else await watch(`since-${i}`, { since: Math.max(0, watchers[0]!.messages.length - 200) });
      }
    })();

    await within(Promise.all([...storm, joins]), 60_000, 'the storm');
    expect(published.size).toBe(total);
    expect([...published.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    await arrived.wait(() => watchers.every((w) => w.sub.seq === total), 20_000, 'every subscriber to reach the last seq');
    const finalState = (await (await fetch(`${broker.httpUrl}/api/v1/topics/${topic}`)).json()) as { seq: number; state: unknown };
    expect(finalState.seq).toBe(total);

    for (const w of watchers) {
      const seqs = w.messages.map((m) => m.seq);
      const expected = Array.from({ length: total - w.startSeq }, (_, i) => w.startSeq + 1 + i);
      expect(seqs, `${w.name}: deliveries after ${w.startSeq}`).toEqual(expected);
      for (const m of w.messages) expect(m.data, `${w.name} seq ${m.seq}`).toEqual(published.get(m.seq)!.data);
      if (w.name.startsWith('since')) expect(w.recovered, `${w.name} resumed from history`).toBe(true);
      if (w.name.startsWith('state') || w.name === 'before-any') {
        // C5: the snapshot at s plus the messages after s rebuilds the broker's state.
        let state = w.startState;
        for (const m of w.messages) if (m.kind === 'state') state = m.data;
        else if (m.kind === 'patch') state = applyMergePatch(state, m.data);
        expect(state, `${w.name} rebuilt state`).toEqual(finalState.state);
        expect(w.sub.state).toEqual(finalState.state);
      }
    }
    expect(watchers.length).toBe(7);
  });
});
