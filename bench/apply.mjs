// In-process: CPU time of one TopicTable.apply of a publish as a mesh copy applies it (an event
// whose payload arrives encoded, one publisher, one topic, no subscriber) — the work every copy
// of a group does for every publish, without links, scheduling or other processes in the way.
// The command carries its decoded payload too, so that a build from before `encoded` (which
// encodes it again) can be timed with the same file.
// A copy passes the command's stream id beside it (`apply(command, id)`); `--spread` times the
// copy it made before, `apply({ ...command, id })`, which V8 takes off its fast path.
// Needs a built dist/.
//   node bench/apply.mjs [--rounds 7] [--count 200000] [--spread]
import { parseArgs } from 'node:util';
import { encode } from '../dist/client/protocol/index.js';
import { TopicTable, topicLimitsDefault } from '../dist/broker/topics/index.js';
import { cpuRounds } from './lib/rounds.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, count: { type: 'string', default: '200000' }, spread: { type: 'boolean', default: false } } });
const rounds = Math.max(1, Math.min(50, Number(values.rounds) || 7));
const count = Math.max(1000, Math.min(5_000_000, Number(values.count) || 200_000));

const table = new TopicTable({ limits: topicLimitsDefault, sink: { message: () => {}, presence: () => {} }, newEpoch: () => 'e', streamOf: () => 3, isPinned: () => true });
const payload = new Uint8Array(128);
const encoded = encode(payload);
const client = `bench-${'x'.repeat(20)}`;
let pid = 0;
function run(n) {
  for (let i = 0; i < n; i++) {
    pid++;
    const command = { kind: 'publish', topic: 'bench.apply', msgKind: 'event', data: payload, client, pid, ts: 1_700_000_000_000 + pid, encoded };
    const id = `b0#x:${pid}.${i % 50}`;
    if (values.spread) table.apply({ ...command, id });
    else table.apply(command, id);
  }
}
// The warm-up also fills the publish-id table (4,096 ids per client).
const nsPerApply = cpuRounds(run, { rounds, count });
const figures = { bench: 'chorus-apply', node: process.version, count, rounds, spread: values.spread, nsPerApply };
console.log(`TopicTable.apply of a mesh publish${values.spread ? ' (spread with its id)' : ''}: median ${figures.nsPerApply.median} ns, min ${figures.nsPerApply.min} ns (${rounds} rounds of ${count})`);
console.log(JSON.stringify(figures));
