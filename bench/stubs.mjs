// In-process: CPU time of making the stub a member outside an elided message's audience is sent
// (broker/core/audience.ts `copyFor`), once per outside member per message: the stub and the size
// of the payload it stands for (the mesh's `payloadSize` of a batch of 50 publishes). `--bare`
// times the stub alone (`stubOf`, as a flush relays one); `--spread` the rest-and-spread copy it
// was made with until 2026-12-02, which V8 takes off its fast path. Needs a built dist/.
//   node bench/stubs.mjs [--rounds 7] [--count 200000] [--bare | --spread]
import { parseArgs } from 'node:util';
import { copyFor, stubOf } from '../dist/broker/core/audience.js';
import { payloadSize } from '../dist/broker/node/sizes.js';
import { cpuRounds } from './lib/rounds.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, count: { type: 'string', default: '200000' }, spread: { type: 'boolean', default: false }, bare: { type: 'boolean', default: false } } });
const rounds = Math.max(1, Math.min(50, Number(values.rounds) || 7));
const count = Math.max(1000, Math.min(5_000_000, Number(values.count) || 200_000));

const spreadStub = (m) => {
  const { payload: _payload, ...rest } = m;
  return { ...rest, payload: null, stub: true };
};
const make = values.spread ? spreadStub : values.bare ? stubOf : (m) => copyFor(m, 1, payloadSize);
const mode = values.spread ? ' (rest and spread)' : values.bare ? ' (bare)' : ', with its size';
// A batch of 50 publishes, as a broker multicasts them (encoded payloads of 128 bytes).
const commands = Array.from({ length: 50 }, (_, i) => ({ kind: 'publish', topic: 'bench.fanout', type: 'event', encoded: new Uint8Array(131), publishId: `p${i}` }));
// A sequenced batch as the mesh sends it, 10,000 distinct messages.
const messages = Array.from({ length: 10_000 }, (_, i) => ({ kind: 'data', view: 3, sender: 'b2#mx6j5x4j5009', seq: i + 1, order: 'total', safe: true, origin: 'b0#mx6j5x7y17df', key: `b0#mx6j5x7y17df:${i}`, originSeq: i + 1, stream: 22, streamPos: i + 1, streamSeq: i + 1, audience: [0, 2], payload: { commands } }));
let sink = 0;
function run(n) {
  for (let i = 0; i < n; i++) sink += make(messages[i % messages.length]).seq;
}
const nsPerStub = cpuRounds(run, { rounds, count });
const figures = { bench: 'chorus-stubs', node: process.version, count, rounds, spread: values.spread, bare: values.bare, nsPerStub, sink: sink > 0 };
console.log(`a stub${mode}: median ${figures.nsPerStub.median} ns, min ${figures.nsPerStub.min} ns (${rounds} rounds of ${count})`);
console.log(JSON.stringify(figures));
