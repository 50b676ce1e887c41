// Commands for one group taken in one pass travel as one multicast (broker/node/mesh-stream.ts):
// bounded in count and bytes, a single command alone as before, and on delivery each command of a
// batch reaches the replicas as a delivery of its own, keyed `<key>.<i>`, in order — a stub of an
// own batch too, so that every command's client is answered. The whole-broker simulator runs the
// same code under faults (`npm run sim -- --whole --batching`); this pins the shapes.
import { describe, expect, it } from 'vitest';
import type { Delivery, MulticastOptions } from '../../broker/core/index.js';
import { ErrorCode, encode } from '../../client/protocol/index.js';
import { MeshStream, backlogMax, batchBytesMax, batchMax } from '../../broker/node/mesh-stream.js';
import type { Replicas } from '../../broker/node/replicas.js';
import { commandSize, payloadSize } from '../../broker/node/sizes.js';
import { TopicTable, topicLimitsDefault, type UnstampedCommand } from '../../broker/topics/index.js';
import { lwgOf } from '../../lightweight-groups/index.js';

function setUp() {
  const sent: Array<{ key: string; payload: { command?: unknown; commands?: unknown[] }; options: MulticastOptions }> = [];
  const delivered: Delivery[] = [];
  /** What the claim policy was told: a group, a multicast's bytes, and how many of them are this broker's. */
  const counted: Array<[number, number, number]> = [];
  const wanted = new Set<string>();
  const group = {
    id: 'me#1',
    sequencerOf: () => 'other#1',
    multicast(payload: unknown, options: MulticastOptions): string {
      const key = `me#1/${sent.length + 1}`;
      sent.push({ key, payload: payload as never, options });
      return key;
    },
  };
  const stream = new MeshStream({ group: () => group, lwgOf: (topic) => lwgOf(topic, 32), now: () => 1000, self: () => 'me#1' });
  const replicas = {
    bind: () => replicas,
    deliver: (d: Delivery) => void delivered.push(d),
    table: { advance: () => {} },
    claims: { delivered: (lwg: number, bytes: number, own: number) => void counted.push([lwg, bytes, own]) },
    wants: (topic: string) => wanted.has(topic),
  };
  stream.bind({} as TopicTable, replicas as unknown as Replicas);
  return { stream, sent, delivered, counted, wanted };
}

const publish = (topic: string, data: unknown): UnstampedCommand => ({ kind: 'publish', topic, msgKind: 'event', data });

/** Two topics of different groups. */
const [a, b] = ['room.a', Array.from({ length: 100 }, (_, i) => `room.b${i}`).find((t) => lwgOf(t, 32) !== lwgOf('room.a', 32))!];

describe('commands in batches', () => {
  it('sends a pass’s commands one multicast per group, at most batchMax each, a lone one alone', () => {
    const { stream, sent } = setUp();
    for (let i = 0; i < 2 * batchMax + 44; i++) stream.submit(publish(a, i), () => {});
    stream.submit(publish(b, 'alone'), () => {});
    expect(sent).toHaveLength(0); // nothing leaves before the pass ends
    stream.flush();
    const forA = sent.filter((s) => s.options.stream === lwgOf(a, 32));
    expect(forA.map((s) => s.payload.commands?.length)).toEqual([batchMax, batchMax, 44]);
    expect(forA.flatMap((s) => s.payload.commands!.map((c) => (c as { data: number }).data))).toEqual(Array.from({ length: 2 * batchMax + 44 }, (_, i) => i));
    const forB = sent.filter((s) => s.options.stream === lwgOf(b, 32));
    expect(forB).toHaveLength(1);
    expect(forB[0]!.payload).toEqual({ command: expect.objectContaining({ topic: b, data: 'alone', ts: 1000 }) });
    expect(sent.every((s) => s.options.order === 'total' && s.options.safe === true && s.options.elide === true)).toBe(true);
  });

  it('keeps a batch under batchBytesMax', () => {
    const { stream, sent } = setUp();
    const big = 'x'.repeat(Math.floor(batchBytesMax / 3));
    for (let i = 0; i < 7; i++) stream.submit(publish(a, big), () => {});
    stream.flush();
    expect(sent.map((s) => s.payload.commands?.length ?? 1)).toEqual([2, 2, 2, 1]);
  });

  it('hands each command of a delivered batch to the replicas in order, keyed <key>.<i>, and answers each client', () => {
    const { stream, sent, delivered } = setUp();
    const answers: Array<[number, unknown]> = [];
    for (let i = 0; i < 3; i++) stream.submit(publish(a, i), (r) => answers.push([i, r]));
    stream.flush();
    const { key, payload } = sent[0]!;
    stream.deliver({ key, origin: 'me#1', stream: lwgOf(a, 32), payload } as unknown as Delivery);
    expect(delivered.map((d) => [d.key, (d.payload as { command: { data: number } }).command.data])).toEqual([
      [`${key}.0`, 0],
      [`${key}.1`, 1],
      [`${key}.2`, 2],
    ]);
    for (let i = 2; i >= 0; i--) stream.answer(`${key}.${i}`, { ok: true, seq: i + 1 });
    expect(answers).toEqual([
      [2, { ok: true, seq: 3 }],
      [1, { ok: true, seq: 2 }],
      [0, { ok: true, seq: 1 }],
    ]);
  });

  it('weighs each multicast by its bytes for the claim policy: an own one whole, another by its commands wanted here, a stub by the size it stands for, as none', () => {
    const { stream, counted, wanted } = setUp();
    const g = lwgOf(a, 32);
    const other = Array.from({ length: 200 }, (_, i) => `room.c${i}`).find((t) => lwgOf(t, 32) === g)!;
    wanted.add(a);
    const command = (topic: string, data: number): unknown => ({ kind: 'publish', topic, msgKind: 'event', data, ts: 1 });
    const batch = { commands: [command(a, 1), command(other, 2), command(a, 3), command(other, 4)] };
    const one = { command: command(other, 5) };
    stream.deliver({ key: 'me#1/1', origin: 'me#1', stream: g, stub: true, size: 700, payload: null } as unknown as Delivery);
    stream.deliver({ key: 'o#1/1', origin: 'o#1', stream: g, payload: batch } as unknown as Delivery);
    stream.deliver({ key: 'o#1/2', origin: 'o#1', stream: g, payload: one } as unknown as Delivery);
    stream.deliver({ key: 'o#1/3', origin: 'o#1', stream: g, stub: true, size: 900, payload: null } as unknown as Delivery);
    // A control is not traffic.
    stream.deliver({ key: 'o#1/4', origin: 'o#1', stream: g, payload: { lwg: { op: 'hold', lwg: g } } } as unknown as Delivery);
    // A peer's payload of a shape it should not have counts as none, and throws nothing.
    for (const odd of [{ commands: {} }, { commands: null }, { commands: 7 }, { commands: 'abc' }, { commands: [null, 3, {}] }, { command: null }, { command: 5 }]) {
      stream.deliver({ key: 'o#1/5', origin: 'o#1', stream: g, payload: odd } as unknown as Delivery);
    }
    const wantedBytes = commandSize(batch.commands[0]) + commandSize(batch.commands[2]);
    expect(counted.slice(0, 4)).toEqual([
      [g, 700, 700],
      [g, payloadSize(batch), wantedBytes],
      [g, payloadSize(one), 0],
      [g, 900, 0],
    ]);
    expect(wantedBytes).toBeGreaterThan(0);
    expect(counted.slice(4)).toHaveLength(7);
    for (const [lwg, , own] of counted.slice(4)) expect([lwg, own]).toEqual([g, 0]);
  });

  it('turns a stub of an own batch into one stub delivery per command', () => {
    const { stream, sent, delivered } = setUp();
    for (let i = 0; i < 4; i++) stream.submit(publish(a, i), () => {});
    stream.flush();
    stream.deliver({ key: sent[0]!.key, origin: 'me#1', stub: true, payload: null } as unknown as Delivery);
    expect(delivered.map((d) => [d.key, d.stub])).toEqual([0, 1, 2, 3].map((i) => [`${sent[0]!.key}.${i}`, true]));
    // Another broker's stub stays one delivery.
    stream.deliver({ key: 'other#1/9', origin: 'other#1', stub: true, payload: null } as unknown as Delivery);
    expect(delivered).toHaveLength(5);
  });

  it('refuses publishes past backlogMax commands not answered, and takes them again once answered', () => {
    const { stream, sent } = setUp();
    const refused: unknown[] = [];
    for (let i = 0; i < backlogMax; i++) stream.submit(publish(a, i), () => {});
    stream.submit(publish(a, 'one too many'), (r) => refused.push(r));
    expect(refused).toEqual([expect.objectContaining({ ok: false, code: ErrorCode.TooManyRequests })]);
    stream.flush();
    expect(sent.reduce((n, s) => n + (s.payload.commands?.length ?? 1), 0)).toBe(backlogMax);
    stream.answer(`${sent[0]!.key}.0`, { ok: true, seq: 1 });
    const taken: unknown[] = [];
    stream.submit(publish(a, 'now'), (r) => taken.push(r));
    expect(taken).toEqual([]); // taken, not refused
  });

  it('fails what waits in a batch when the member stops', () => {
    const { stream } = setUp();
    const answers: unknown[] = [];
    stream.submit(publish(a, 1), (r) => answers.push(r));
    stream.failPending('stopping');
    expect(answers).toEqual([expect.objectContaining({ ok: false, message: 'stopping' })]);
  });

  it('counts a publish by its encoded payload, however large its value (a new sequencer bounds what it keeps by this)', () => {
    const value = Array.from({ length: 6000 }, (_, i) => i * 1000);
    const encoded = encode(value);
    const state = { kind: 'publish', topic: a, msgKind: 'state', data: value, encoded, ts: 1 };
    const event = { kind: 'publish', topic: a, msgKind: 'event', encoded, ts: 1 };
    expect(commandSize(event)).toBeGreaterThanOrEqual(encoded.byteLength);
    // A state travels with its decoded value beside its bytes: counted twice, not cut off after 64 values.
    expect(commandSize(state)).toBeGreaterThanOrEqual(2 * encoded.byteLength);
    expect(payloadSize({ commands: [state, event] })).toBe(commandSize(state) + commandSize(event));
    expect(payloadSize({ command: event })).toBe(commandSize(event));
    // A command without encoded bytes has its data walked, at most 64 values.
    expect(commandSize({ kind: 'publish', topic: a, msgKind: 'state', data: value })).toBeLessThan(1000);
  });

  it('carries a payload as the publisher\'s broker encoded it: an event without its value, a state with both', () => {
    const { stream, sent } = setUp();
    const event = encode({ n: 1 });
    const state = encode({ hp: 3 });
    stream.submit({ ...publish(a, { n: 1 }), encoded: event }, () => {});
    stream.submit({ kind: 'publish', topic: a, msgKind: 'state', data: { hp: 3 }, encoded: state }, () => {});
    stream.flush();
    const [e, s] = sent[0]!.payload.commands as Array<Record<string, unknown>>;
    expect(e).not.toHaveProperty('data');
    expect(e!['encoded']).toBe(event);
    expect(s).toMatchObject({ data: { hp: 3 }, encoded: state });
    // A copy writes the encoded bytes into its message as they are.
    const messages: Uint8Array[] = [];
    const copy = new TopicTable({ limits: topicLimitsDefault, sink: { message: (_t, _s, entry) => void messages.push(entry.parts!.data), presence: () => {} }, newEpoch: () => 'e', isPinned: () => true });
    for (const c of [e, s]) expect(copy.apply(c as never)).toMatchObject({ ok: true });
    expect(messages.map((m) => [...m])).toEqual([[...event], [...state]]);
    expect(copy.get(a)!.stateHolder.value).toEqual({ hp: 3 });
  });
});
