// In-process: CPU time of a topic table churning topics at its limit (`topicsMax`, 100,000 by
// default): each step publishes to three topics it keeps (each a use, which moves it to the recent
// end) and to one new topic, which evicts the least recently used idle topic. Before 2026-12-02
// the idle topics were a Map kept in use order, whose oldest entry is found by stepping over every
// entry deleted since the Map last rehashed; they are now a linked list (broker/topics/recency-map.ts).
// To see the difference, run this file against a build from before that change (a worktree).
// Needs a built dist/.
//   node bench/idle-topics.mjs [--rounds 7] [--count 20000] [--topics 100000]
import { parseArgs } from 'node:util';
import { encode } from '../dist/client/protocol/index.js';
import { TopicTable, topicLimitsDefault } from '../dist/broker/topics/index.js';
import { cpuRounds } from './lib/rounds.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, count: { type: 'string', default: '20000' }, topics: { type: 'string', default: '100000' } } });
const rounds = Math.max(1, Math.min(50, Number(values.rounds) || 7));
const count = Math.max(1000, Math.min(1_000_000, Number(values.count) || 20_000));
const topicsMax = Math.max(100, Math.min(2_000_000, Number(values.topics) || 100_000));

const table = new TopicTable({ limits: { ...topicLimitsDefault, topicsMax }, sink: { message: () => {}, presence: () => {} }, newEpoch: () => 'e', streamOf: () => 3, isPinned: () => false });
const payload = new Uint8Array(16);
const encoded = encode(payload);
let ts = 1_700_000_000_000;
let next = 0;
// A deterministic spread of uses over the topics kept (a fixed LCG, not Math.random: every run alike).
let lcg = 12345;
const random = () => ((lcg = (lcg * 1103515245 + 12345) % 2147483648) / 2147483648);
const publish = (n) => table.apply({ kind: 'publish', topic: `room.${n}`, msgKind: 'event', data: payload, ts: ts++, encoded }, `b0#x:${ts}`);
for (; next < topicsMax; next++) publish(next);
function run(n) {
  for (let i = 0; i < n; i++) {
    for (let u = 0; u < 3; u++) publish(next - 1 - Math.floor(random() * topicsMax * 0.9));
    publish(next++);
  }
}
const nsPerStep = cpuRounds(run, { rounds, count });
const figures = { bench: 'chorus-idle-topics', node: process.version, topicsMax, count, rounds, nsPerStep, kept: table.size ?? null, evicted: table.evictedTotal };
console.log(`a step at ${topicsMax} topics (3 uses and a new topic, which evicts one): median ${nsPerStep.median} ns, min ${nsPerStep.min} ns (${rounds} rounds of ${count}; ${figures.evicted} evicted)`);
console.log(JSON.stringify(figures));
