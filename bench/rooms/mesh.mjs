/**
 * The brokers of `--rooms`: `opts.brokers` Chorus brokers on loopback (b0, b1, …), all pinned to
 * core 0, each started with `--rooms 'game.*'`, `--conflate 'game.*.pos'` (unless --no-conflate)
 * and the per-connection limits that would refuse the load switched off (as bench/lib/brokers.mjs
 * and bench/peers do). With more than one, they share a seed list and a throw-away cluster secret,
 * and the mesh is formed once every broker has logged a `cluster-view` holding all of them.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BROKER_CLI_URL } from '../lib/common.mjs';
import { freePorts } from '../lib/mesh.mjs';
import { sleep } from '../lib/system.mjs';

const BROKER_CLI = fileURLToPath(BROKER_CLI_URL);
const FORM_TIMEOUT_MS = 30_000;

export const ROOM_PATTERN = 'game.*';
export const POS_PATTERN = 'game.*.pos';

/** The broker flags of this benchmark (besides addresses and the mesh). */
export function brokerFlags(opts) {
  const flags = [
    '--rooms', ROOM_PATTERN,
    ...(opts.conflate ? ['--conflate', POS_PATTERN] : []),
    // Off: per-connection rates, and the connection caps (4,000 players from one address).
    '--rate-publishes', '0', '--rate-bytes', '0', '--rate-subscribes', '0',
    '--connections-per-ip', '100000', '--connections-max', '100000',
  ];
  // A filled slow reader holds the fill unread: it must not be cut as a slow consumer for that alone.
  if (opts.slowFillMib > 0) flags.push('--outbound-bytes-max', `${Math.ceil(opts.slowFillMib) + 64}MiB`);
  return flags;
}

/** Starts the brokers; resolves once they listen and (mesh) have formed one view. */
export async function startBrokers(procs, opts) {
  const n = opts.brokers;
  const ports = await freePorts(2 * n);
  const seeds = ports.slice(n).map((p) => `127.0.0.1:${p}`).join(',');
  const secret = `bench-${randomBytes(12).toString('hex')}`;
  const brokers = [];
  for (let i = 0; i < n; i++) {
    const nodeFlags = opts.cpuProfDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir];
    const args = [...nodeFlags, BROKER_CLI, '--host', '127.0.0.1', '--port', String(ports[i]), '--name', `b${i}`, '--log-level', 'info', ...brokerFlags(opts)];
    if (n > 1) args.push('--cluster-port', String(ports[n + i]), '--seeds', seeds, '--cluster-secret', secret);
    const child = procs.spawn(`broker b${i}`, 0, process.execPath, args);
    brokers.push({ name: `b${i}`, child, pid: child.pid, port: ports[i], url: `ws://127.0.0.1:${ports[i]}/ws`, args: args.slice(nodeFlags.length + 1) });
  }
  await Promise.all(brokers.map((b) => procs.waitForEvent(b.child, (e) => e.event === 'listening', 15_000, 'listening')));
  const t0 = Date.now();
  if (n > 1) {
    const fullView = (b) => {
      const last = b.child.views[b.child.views.length - 1];
      return last !== undefined && Array.isArray(last.members) && last.members.length === n ? last : null;
    };
    while (!brokers.every(fullView)) {
      if (Date.now() - t0 > FORM_TIMEOUT_MS) throw new Error(`the mesh did not form within ${FORM_TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
    for (const b of brokers) b.view = { id: fullView(b).view, members: fullView(b).members };
  }
  return { brokers, formMs: Date.now() - t0, secretRedacted: n > 1 ? 'bench-<random>' : null };
}

/** Each broker's stdout events counted by name, and the views it logged after the first full one (a view change under load). */
export function brokerEvents(brokers) {
  return brokers.map((b) => {
    const views = b.child.views;
    const full = views.findIndex((e) => Array.isArray(e.members) && e.members.length === brokers.length);
    const later = full < 0 ? [] : views.slice(full + 1).map((e) => ({ view: e.view, members: e.members }));
    return { name: b.name, counts: { ...b.child.eventCounts }, viewChanges: later.length, laterViews: later };
  });
}
