/**
 * The options of `npm run bench -- --peers` (bench/peers/run.mjs), their defaults (sized
 * for a 2-core machine: the whole default run takes about 5–6 minutes on a quiet machine, more
 * when it waits for quiet or disturbed runs are repeated) and the usage text.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PEER_NAMES } from './peers.mjs';

export class UsageError extends Error {}

export const WORKLOAD_NAMES = ['W1', 'W2', 'W3', 'W4'];

const NUMBERS = {
  seconds: { def: '10', min: 0.2, max: 3600, help: 'measured seconds of W1, W2, W3 (after the warm-up)' },
  warmup: { def: '2', min: 0, max: 600, help: 'warm-up seconds before measuring (W1, W2, W3)' },
  payload: { def: '128', int: true, min: 16, max: 60_000, help: 'payload bytes (W1–W3; W3 writes the send time in its first 8)' },
  burst: { def: '64', int: true, min: 1, max: 100_000, help: 'most publishes per event-loop turn (W1, W2)' },
  'buffer-high': { def: '1048576', int: true, min: 1024, max: 1 << 30, help: "pause publishing while the publisher socket's bufferedAmount is above this" },
  'buffer-low': { def: '262144', int: true, min: 0, max: 1 << 30, help: '… until it is below this' },
  'open-batch': { def: '200', int: true, min: 1, max: 10_000, help: 'connections opened at a time while setting up W1–W3' },
  'w1-subscribers': { def: '100', int: true, min: 1, max: 20_000, help: 'W1 subscribers of the one topic' },
  'w1-window': { def: '2000', int: true, min: 1, max: 10_000_000, help: 'W1 messages per subscriber published but not yet delivered, at most' },
  'w2-topics': { def: '10000', int: true, min: 1, max: 1_000_000, help: 'W2 topics (each with one subscriber)' },
  'w2-connections': { def: '1000', int: true, min: 1, max: 20_000, help: 'W2 subscriber connections (topics / connections each)' },
  'w2-window': { def: '20000', int: true, min: 1, max: 10_000_000, help: 'W2 messages published but not yet delivered, in total, at most' },
  'w3-subscribers': { def: '50', int: true, min: 1, max: 20_000, help: 'W3 subscribers of the one topic' },
  'w3-rate': { def: '2000', min: 1, max: 1_000_000, help: 'W3 publishes per second' },
  'w4-connections': { def: '5000', int: true, min: 1, max: 50_000, help: 'W4 idle connections, one topic each' },
  'w4-batch': { def: '200', int: true, min: 1, max: 10_000, help: 'W4 connections opened at a time' },
  'w4-settle': { def: '2', min: 0, max: 600, help: 'W4 seconds between the last open and the second RSS reading' },
  retries: { def: '2', int: true, min: 0, max: 10, help: 'run again, at most this many times, a run during which other processes used 25% of a core or more (the least disturbed attempt is kept)' },
  'quiet-wait': { def: '30', min: 0, max: 600, help: 'before each run, wait up to this long for the machine to be idle (under 25% of a core busy); 0: do not' },
};

export function usage() {
  const lines = Object.entries(NUMBERS).map(([name, d]) => `  --${`${name} N`.padEnd(17)} ${d.help} [default ${d.def}]`);
  return `Usage: npm run bench -- --peers [options]       (node bench/fanout.mjs --peers …)

Runs the same four workloads against Chorus (official client and a lean protocol-2 client),
raw ws relays, NATS and Mosquitto on this machine — server pinned to core 0, load generator
to core 1 — and writes bench/results/peers-<date>.json and .md.

  --only LIST         peers to run, comma-separated, of: ${PEER_NAMES.join(', ')}  [default all]
  --workloads LIST    of W1 (fan-out), W2 (many topics), W3 (latency), W4 (idle connections) [default all]
${lines.join('\n')}
  --out-dir DIR       where the .json and .md go [default bench/results]
  --cpu-prof-dir DIR  run the load generator and the Node servers (Chorus, the raw ws relays)
                      under node --cpu-prof, one profile per process written to DIR
  --no-pin            do not pin the server and the generator to cores
  --help`;
}

const list = (raw, allowed, what) => {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item)) throw new UsageError(`${what}: unknown ${JSON.stringify(item)} (one of ${allowed.join(', ')})`);
  if (items.length === 0) throw new UsageError(`${what}: empty list`);
  return items;
};

export function parseOptions(argv) {
  const options = {
    only: { type: 'string' },
    workloads: { type: 'string' },
    'out-dir': { type: 'string' },
    'cpu-prof-dir': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  };
  for (const [name, d] of Object.entries(NUMBERS)) options[name] = { type: 'string', default: d.def };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) return { help: true };
  const o = {
    only: values.only === undefined ? null : list(values.only, PEER_NAMES, '--only'),
    workloads: values.workloads === undefined ? WORKLOAD_NAMES : list(values.workloads.toUpperCase(), WORKLOAD_NAMES, '--workloads'),
    outDir: values['out-dir'] ?? null,
    cpuProfDir: values['cpu-prof-dir'] === undefined ? null : resolve(values['cpu-prof-dir']),
    pin: !values['no-pin'],
  };
  for (const [name, d] of Object.entries(NUMBERS)) {
    const raw = values[name];
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (d.int && !Number.isInteger(n)) || n < d.min || n > d.max) {
      throw new UsageError(`--${name}: ${JSON.stringify(raw)} is not ${d.int ? 'a whole number' : 'a number'} in [${d.min}, ${d.max}]`);
    }
    o[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = n;
  }
  if (o.bufferLow > o.bufferHigh) throw new UsageError('--buffer-low must not be above --buffer-high');
  if (o.w2Topics < o.w2Connections) throw new UsageError('--w2-topics must be at least --w2-connections (each connection holds topics / connections)');
  // Each workload once, in the order W1 … W4.
  o.workloads = WORKLOAD_NAMES.filter((w) => o.workloads.includes(w));
  return o;
}
