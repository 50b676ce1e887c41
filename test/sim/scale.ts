/**
 * How the design behaves as the group grows (`npm run sim -- --scale`): for each group size, on a
 * calm simulated network, the flush messages a view change costs, how long detection and the
 * flush take, and the peer messages each multicast costs once heartbeats are discounted (there,
 * messages to one member in one turn travel as one batch, so batches are counted — what a
 * transport would send).
 */
import { prng } from '../helpers/prng.js';
import { SimCluster } from './cluster.js';
import { calmNetwork } from './network.js';

interface ScaleRow {
  members: number;
  /** Flush protocol messages (start, state, final, done, install) for one view change. */
  viewChangeMessages: number;
  detectTicks: number;
  flushTicks: number;
  messagesPerMulticast: number;
  heartbeatMessagesPerTick: number;
}

function settle(cluster: SimCluster, size: number, ticksMax: number): void {
  for (let t = 0; t < ticksMax; t++) {
    cluster.step();
    const live = cluster.live();
    const v = live[0]?.member.view;
    if (v !== undefined && v.members.length === size && live.every((s) => s.member.view?.id === v.id && !s.member.frozen)) return;
  }
  throw new Error(`a group of ${size} did not form within ${ticksMax} ticks`);
}

export function measureScale(size: number): ScaleRow {
  const cluster = new SimCluster(prng(size), calmNetwork);
  cluster.start('m0', true);
  for (let i = 1; i < size; i++) cluster.start(`m${i}`, false);
  settle(cluster, size, 20_000);
  for (let t = 0; t < 100; t++) cluster.step();

  // Heartbeats alone, as the baseline.
  const idleTicks = 200;
  let sent = cluster.network.sentTotal;
  for (let t = 0; t < idleTicks; t++) cluster.step();
  const heartbeatPerTick = (cluster.network.sentTotal - sent) / idleTicks;

  // One multicast per tick from one member, then drain.
  const multicasts = 200;
  sent = cluster.network.sentTotal;
  const window = multicasts + 100;
  for (let t = 0; t < window; t++) {
    if (t < multicasts) cluster.multicast('m1', { t }, { order: 'fifo' });
    cluster.step();
  }
  const perMulticast = (cluster.network.sentTotal - sent - heartbeatPerTick * window) / multicasts;

  // A crash of the youngest member: detection by silence, then the flush.
  const victim = `m${size - 1}`;
  const crashedAt = cluster.now;
  const viewBefore = cluster.members.get('m0')!.member.view!.id;
  const flushKinds = ['flush-start', 'flush-state', 'flush-final', 'flush-done', 'install'];
  const flushCount = (): number => flushKinds.reduce((n, k) => n + (cluster.network.sentByKind.get(k) ?? 0), 0);
  const flushBefore = flushCount();
  cluster.crash(victim);
  const blocksBefore = cluster.blockedAt.length;
  settle(cluster, size - 1, 20_000);
  const installs = cluster.installedAt.filter((i) => i.view > viewBefore);
  const lastInstall = Math.max(...installs.map((i) => i.tick));
  const firstBlock = cluster.blockedAt[blocksBefore] ?? lastInstall;
  return {
    members: size,
    viewChangeMessages: flushCount() - flushBefore,
    detectTicks: firstBlock - crashedAt,
    flushTicks: lastInstall - firstBlock,
    messagesPerMulticast: Number(perMulticast.toFixed(2)),
    heartbeatMessagesPerTick: Number(heartbeatPerTick.toFixed(1)),
  };
}

export function scaleTable(sizes: readonly number[]): string {
  const rows = sizes.map(measureScale);
  const header = '| members | view-change messages | detect (ticks) | flush (ticks) | messages per multicast | heartbeat messages per tick |';
  const rule = '|---|---|---|---|---|---|';
  const lines = rows.map((r) => `| ${r.members} | ${r.viewChangeMessages} | ${r.detectTicks} | ${r.flushTicks} | ${r.messagesPerMulticast} | ${r.heartbeatMessagesPerTick} |`);
  return [header, rule, ...lines].join('\n');
}
