// Proves that bad input is refused with the documented error or close code, is counted, and disturbs
// no one: a hostile raw WebSocket tries each kind of bad input against a real broker process while a
// well-behaved subscriber keeps receiving a steady stream, gap-free, and the broker stays up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client, type Message } from '../../client/index.js';
import { CloseCode, ErrorCode, type ServerMessage } from '../../client/protocol/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { Raw } from '../helpers/raw-socket.js';
import { Condition, within } from '../helpers/wait.js';

describe('hostile input', () => {
  let broker: BrokerProcess;
  let calm: Client;
  let calmPublisher: Client;
  const calmGot: Message[] = [];
  const calmArrived = new Condition();
  let ticking = true;
  let ticker: Promise<void>;
  let published = 0;

  beforeAll(async () => {
    broker = await startBrokerProcess(['--hello-timeout-ms', '300', '--subscriptions-max', '5', '--frame-bytes-max', '64KiB', '--payload-bytes-max', '8KiB', '--outbound-bytes-max', '64KiB']);
    calm = await connect(broker.url);
    await calm.subscribe('calm.stream', (m) => (calmGot.push(m), calmArrived.notify()));
    calmPublisher = await connect(broker.url);
    // A steady stream throughout every hostile case, bounded in count.
    ticker = (async () => {
      while (ticking && published < 100_000) {
        await calmPublisher.publish('calm.stream', { n: ++published });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    await calmArrived.wait(() => calmGot.length > 10, 5000, 'the calm stream to start');
  });

  afterAll(async () => {
    ticking = false;
    await ticker?.catch(() => {});
    await calm?.close();
    await calmPublisher?.close();
    await broker?.stop();
  });

  const closes: Array<[string, (raw: Raw) => void, number]> = [
    ['a text frame', (raw) => raw.ws.send('{"type":"hello"}'), CloseCode.BadFrame],
    ['malformed msgpack', (raw) => raw.ws.send(Buffer.from([0x92, 0xc1, 0xdb, 0xff])), CloseCode.BadFrame],
    ['a frame that is not an array', (raw) => raw.ws.send(Buffer.from([0x81, 0xa1, 0x61, 0x01])), CloseCode.BadFrame],
    ['nesting 10 000 deep', (raw) => raw.ws.send(Buffer.from([...new Array(10_000).fill(0x91), 0xc0])), CloseCode.BadFrame],
    ['a request before hello', (raw) => raw.send([{ type: 'pub', id: 1, topic: 'calm.stream', data: 'x' }]), CloseCode.HelloRequired],
    ['garbage before hello', (raw) => raw.send([{ nope: true }]), CloseCode.HelloRequired],
    ['a wrong protocol version', (raw) => raw.send([{ type: 'hello', v: 99 }]), CloseCode.UnsupportedVersion],
    ['no hello at all (slow handshake)', () => {}, CloseCode.HandshakeTimeout],
    ['a frame over the size limit', (raw) => raw.ws.send(Buffer.alloc(70 * 1024)), CloseCode.FrameTooBig],
  ];
  it.each(closes)('%s closes that connection with its code', async (_what, act, code) => {
    const raw = new Raw(broker.url);
    await raw.opened;
    act(raw);
    expect(await raw.closeCodeWithin(5000)).toBe(code);
  });

  const errors: Array<[string, Record<string, unknown>, number]> = [
    ['an unknown message type', { type: 'teleport', id: 1 }, ErrorCode.UnknownType],
    ['a wrong field type', { type: 'sub', id: 2, topic: 'a', since: 'yesterday' }, ErrorCode.BadRequest],
    ['an invalid topic', { type: 'sub', id: 3, topic: 'bad..name' }, ErrorCode.InvalidTopic],
    ['a reserved topic', { type: 'pub', id: 4, topic: '$sys.config', data: 1 }, ErrorCode.ReservedTopic],
    ['a wildcard asking for state', { type: 'sub', id: 5, topic: 'calm.*', state: true }, ErrorCode.WildcardNotAllowed],
    ['a payload over the limit', { type: 'pub', id: 6, topic: 'x', data: 'y'.repeat(9000) }, ErrorCode.PayloadTooLarge],
    ['a topic over 255 bytes', { type: 'pub', id: 7, topic: 'z'.repeat(300), data: 1 }, ErrorCode.InvalidTopic],
    ['unsubscribing what was never subscribed', { type: 'unsub', id: 8, topic: 'never' }, ErrorCode.NotSubscribed],
  ];
  it.each(errors)('%s gets a typed error and the connection stays', async (_what, message, code) => {
    const raw = new Raw(broker.url);
    await raw.hello();
    raw.send([message]);
    expect(await raw.answer(message['id'] as number)).toMatchObject({ type: 'error', code, message: expect.any(String) });
    raw.send([{ type: 'pub', id: 100, topic: 'hostile.ok', data: 'still here' }]);
    expect(await raw.answer(100)).toMatchObject({ type: 'reply', seq: expect.any(Number) });
    raw.ws.close();
  });

  it('closes a slowloris upgrade that never finishes its headers', async () => {
    const { connect: tcpConnect } = await import('node:net');
    const socket = tcpConnect({ host: '127.0.0.1', port: broker.port });
    socket.on('error', () => {});
    socket.resume(); // read (and drop) the broker's answer, so its close is seen
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await within(closed, 10_000, 'the broker to close the half-sent request');
  });

  it('refuses subscriptions past the per-connection limit', async () => {
    const raw = new Raw(broker.url);
    await raw.hello();
    raw.send(Array.from({ length: 6 }, (_, i) => ({ type: 'sub', id: i + 1, topic: `many.${i}` })));
    expect(await raw.answer(5)).toMatchObject({ type: 'reply' });
    expect(await raw.answer(6)).toMatchObject({ type: 'error', code: ErrorCode.TooManySubscriptions });
    raw.ws.close();
  });

  it('refuses __proto__ keys: the frame is malformed (4501), nothing is applied', async () => {
    const raw = new Raw(broker.url);
    await raw.hello();
    const proto = Buffer.from([0x91, 0x85, 0xa4, ...Buffer.from('type'), 0xa3, ...Buffer.from('pub'), 0xa2, ...Buffer.from('id'), 0x01, 0xa5, ...Buffer.from('topic'), 0xa5, ...Buffer.from('proto'), 0xa4, ...Buffer.from('kind'), 0xa5, ...Buffer.from('state'), 0xa4, ...Buffer.from('data'), 0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa5, ...Buffer.from('admin'), 0xc3]);
    raw.ws.send(proto);
    expect(await raw.closeCodeWithin(5000)).toBe(CloseCode.BadFrame);
    const topic = (await (await fetch(`${broker.httpUrl}/api/v1/topics/proto`)).json()) as { seq: number; state: unknown };
    expect(topic.seq).toBe(0);
  });

  it('survives 10 000 malformed frames from one connection after another', async () => {
    let sent = 0;
    while (sent < 10_000) {
      const raw = new Raw(broker.url);
      await raw.opened;
      // Garbage flood: the first bad frame closes the connection; count what we managed to send.
      for (let i = 0; i < 500 && raw.ws.readyState === raw.ws.OPEN; i++, sent++) raw.ws.send(Buffer.from([0xc1, i & 0xff, 0xdb]));
      expect(await raw.closeCodeWithin(5000)).toBe(CloseCode.BadFrame);
    }
    expect(sent).toBeGreaterThanOrEqual(10_000);
  });

  it('cuts a slow consumer with its own code and nobody else', async () => {
    const raw = new Raw(broker.url);
    await raw.hello();
    raw.send([{ type: 'sub', id: 1, topic: 'firehose' }]);
    await raw.answer(1);
    // Stop reading: the kernel buffers fill, then the broker's outbound queue.
    (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const blast = await connect(broker.url);
    for (let i = 0; i < 600; i++) void blast.publish('firehose', 'f'.repeat(8000));
    await blast.flush();
    (raw.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await raw.closeCodeWithin(10_000)).toBe(CloseCode.SlowConsumer);
    await blast.close();
  });

  it('leaves the broker up, the calm subscriber undisturbed, and counts what it refused', async () => {
    const before = published;
    await calmArrived.wait(() => calmGot.length >= before, 10_000, 'the calm stream to catch up');
    expect(calmGot.map((m) => m.seq)).toEqual(Array.from({ length: calmGot.length }, (_, i) => i + 1));
    expect((await fetch(`${broker.httpUrl}/livez`)).status).toBe(200);
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    for (const reason of ['text_frame', 'malformed', 'not_array', 'hello_required', 'bad_version', 'frame_too_big', 'unknown_type', 'bad_message']) {
      expect(metrics, reason).toMatch(new RegExp(`chorus_protocol_errors_total\\{reason="${reason}"\\} [1-9]`));
    }
    expect(metrics).toMatch(/chorus_slow_consumers_total [1-9]/);
    expect(metrics).toMatch(new RegExp(`chorus_request_errors_total\\{type="sub",code="${ErrorCode.InvalidTopic}"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`chorus_request_errors_total\\{type="pub",code="${ErrorCode.PayloadTooLarge}"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`chorus_closes_total\\{code="${CloseCode.HandshakeTimeout}"\\} [1-9]`));
  });
});
