/**
 * The options of `npm run bench -- --rooms` (bench/rooms/run.mjs): their defaults — 1,000 rooms
 * of 4 players at 20 Hz over a 3-broker mesh, one slow reader per room in the second phase —
 * and the usage text.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

const NUMBERS = {
  'rooms-count': { def: '1000', int: true, min: 1, max: 20_000, help: 'rooms (topics game.<n> with presence, game.<n>.pos for positions)' },
  players: { def: '4', int: true, min: 1, max: 100, help: 'players per room, each its own connection' },
  hz: { def: '20', min: 0.1, max: 1000, help: 'position publishes per second per player' },
  seconds: { def: '10', min: 0.5, max: 600, help: 'measured seconds of each phase' },
  warmup: { def: '3', min: 0, max: 600, help: 'seconds of publishing before the first measured window' },
  'slow-per-room': { def: '1', int: true, min: 0, max: 10, help: 'phase 2: slow readers per room (paused for its window); 0: no phase 2' },
  'slow-fill-mib': { def: '0', min: 0, max: 256, help: "phase 2: MiB of bulk data sent to each slow reader on a topic that is not conflated, right after it pauses, to fill the kernel's socket buffers first (0: none)" },
  brokers: { def: '3', int: true, min: 1, max: 7, help: 'brokers in the mesh (1: one broker alone)' },
  'open-batch': { def: '200', int: true, min: 1, max: 1000, help: 'connections opened at a time' },
  'lobby-timeout': { def: '120', min: 1, max: 1200, help: 'seconds to wait for $rooms to list every room with all its players' },
  'rss-max-mib': { def: '6144', int: true, min: 256, max: 1 << 20, help: 'any broker above this RSS stops the run (the machine is shared)' },
  'quiet-wait': { def: '30', min: 0, max: 600, help: 'before starting, wait up to this long for the machine to be idle (under 25% of a core busy); 0: do not' },
};

export function usage() {
  const lines = Object.entries(NUMBERS).map(([name, d]) => `  --${`${name} N`.padEnd(18)} ${d.help} [default ${d.def}]`);
  return `Usage: npm run bench -- --rooms [options]       (node bench/fanout.mjs --rooms …)

Multiplayer game rooms over a mesh of brokers on this machine (brokers pinned to core 0, the
load generator to core 1): every player publishes its position {x, y, t} with ack: false to
game.<room>.pos at --hz and subscribes to game.<room>.pos and to game.<room> with presence;
a lobby client checks $rooms. Phase 1 measures the load; phase 2 adds --slow-per-room paused
readers per room and reports what they got once resumed. Writes
bench/results/rooms-<date>.json and .md.

${lines.join('\n')}
  --no-conflate       start the brokers without --conflate 'game.*.pos' (to compare)
  --out-dir DIR       where the .json and .md go [default bench/results]
  --cpu-prof-dir DIR  run the brokers under node --cpu-prof, one profile per broker written to DIR
  --no-pin            do not pin the brokers and the generator to cores
  --help`;
}

export function parseOptions(argv) {
  const options = {
    'no-conflate': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'out-dir': { type: 'string' },
    'cpu-prof-dir': { type: 'string' },
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
    conflate: !values['no-conflate'],
    pin: !values['no-pin'],
    outDir: values['out-dir'] === undefined ? null : resolve(values['out-dir']),
    cpuProfDir: values['cpu-prof-dir'] === undefined ? null : resolve(values['cpu-prof-dir']),
  };
  for (const [name, d] of Object.entries(NUMBERS)) {
    const raw = values[name];
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (d.int && !Number.isInteger(n)) || n < d.min || n > d.max) {
      throw new UsageError(`--${name}: ${JSON.stringify(raw)} is not ${d.int ? 'a whole number' : 'a number'} in [${d.min}, ${d.max}]`);
    }
    o[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = n;
  }
  if (o.slowFillMib > 0 && o.slowPerRoom === 0) throw new UsageError('--slow-fill-mib needs slow readers (--slow-per-room 1 or more)');
  return o;
}
