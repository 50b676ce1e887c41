// In-process: CPU time of a publish-id lookup and record (broker/topics/dedup.ts) for one client
// publishing ids in order, and for a hostile one whose every other id is an old, never-seen id
// below its highest (each a miss among its last 4,096 ids, out of order); and a table at its limit
// of 1,000,000 ids held by as many clients, one id each, where every publish comes from a new client
// and the least recently seen one is forgotten (many short-lived publishers). Needs a built dist/.
//   node bench/dedup.mjs [--count 200000]
import { parseArgs } from 'node:util';
import { PublishDedup } from '../dist/broker/topics/dedup.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200000' } } });
const count = Math.max(10_000, Math.min(5_000_000, Number(values.count) || 200_000));

function run(nextPid) {
  const table = new PublishDedup();
  let pid = 1_000_000;
  for (let i = 0; i < 5000; i++) table.record('w-client', (pid += 2), { topic: 'x', seq: i }); // full: 4,096 ids
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    pid += 2;
    const p = nextPid(i, pid);
    table.lookup('w-client', p);
    table.record('w-client', p, { topic: 'x', seq: i });
  }
  const used = process.cpuUsage(before);
  return Math.round(((used.user + used.system) * 1000) / count);
}

function manyClients() {
  const table = new PublishDedup();
  let client = 0;
  for (; client < table.entriesMax; client++) table.record(`c-${client}`, 1, { topic: 'x', seq: client });
  const n = Math.min(count, 100_000);
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++, client++) {
    table.lookup(`c-${client}`, 1);
    table.record(`c-${client}`, 1, { topic: 'x', seq: i });
  }
  const used = process.cpuUsage(before);
  return Math.round(((used.user + used.system) * 1000) / n);
}

const inOrder = run((i, pid) => pid);
const hostile = run((i, pid) => (i % 2 === 0 ? pid : pid - 2001));
const clients = manyClients();
console.log(`publish-id lookup + record: ids in order ${inOrder} ns, hostile (old unseen ids between) ${hostile} ns, a new client at 1,000,000 clients ${clients} ns`);
console.log(JSON.stringify({ bench: 'chorus-dedup', node: process.version, count, nsPerPublish: { inOrder, hostile, manyClients: clients } }));
