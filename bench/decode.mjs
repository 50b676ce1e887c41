// In-process: CPU time to check and decode the frames a broker receives — a client's frame of 50
// publishes (decodeFrame, as the gateway does) and a broker link's frame of one data message
// carrying 50 mesh publish commands (FrameDecoder, as a link does) — per message, without
// sockets, scheduling or other processes in the way. Needs a built dist/.
//   node bench/decode.mjs [--rounds 7] [--count 20000]
import { parseArgs } from 'node:util';
import { decodeFrame, encode, encodeFrame } from '../dist/client/protocol/index.js';
import { FrameDecoder, encodeLinkFrame } from '../dist/broker/transport/framing.js';
import { cpuRounds } from './lib/rounds.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, count: { type: 'string', default: '20000' } } });
const rounds = Math.max(1, Math.min(50, Number(values.rounds) || 7));
const count = Math.max(100, Math.min(1_000_000, Number(values.count) || 20_000));

const pubs = Array.from({ length: 50 }, (_, i) => ({ type: 'pub', id: i, topic: 'bench.fanout', kind: 'event', data: new Uint8Array(128), pid: 1_700_000_000_000_000 + i }));
const clientFrame = encodeFrame(pubs);
const commands = pubs.map((p, i) => ({ kind: 'publish', topic: p.topic, msgKind: 'event', encoded: encode(p.data), client: `bench-${'x'.repeat(20)}`, pid: p.pid, ts: 1_700_000_000_000 + i, id: undefined }));
const data = { kind: 'data', view: 3, sender: 'b2#mx6c7j9y08d1', seq: 5, order: 'total', safe: true, origin: 'b0#mx6c7jcn7310', key: 'b0#mx6c7jcn7310:1', originSeq: 9, stream: 22, streamPos: 100, streamSeq: 50, audience: [0, 1], payload: { commands } };
const linkFrame = encodeLinkFrame({ kind: 'batch', items: [data] });
const decoder = new FrameDecoder(1 << 28);

/** A frame of 50, `count` times a round: nanoseconds a publish or a command. */
function time(f) {
  return cpuRounds((n) => {
    for (let i = 0; i < n; i++) f();
  }, { rounds, count, per: 50 });
}

const client = time(() => decodeFrame(clientFrame));
const link = time(() => decoder.push(linkFrame));
console.log(`client frame of 50 publishes: median ${client.median} ns, min ${client.min} ns a publish`);
console.log(`link frame of 50 commands:    median ${link.median} ns, min ${link.min} ns a command   (${rounds} rounds of ${count} frames)`);
console.log(JSON.stringify({ bench: 'chorus-decode', node: process.version, count, rounds, nsPerClientPublish: client, nsPerLinkCommand: link }));
