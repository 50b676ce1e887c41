/**
 * One seeded simulation run: a safety phase with random faults and a random
 * workload of every multicast flavor, then a liveness phase on a healed,
 * calm network in which every live member must converge to one view and
 * deliver what is pending within a bound; then the checker reads the logs.
 * `replay` is the command that reruns exactly this run.
 */
import type { MulticastOptions } from '../../broker/core/index.js';
import { prng } from '../helpers/prng.js';
import { checkRun, type Violation } from './checker.js';
import { SimCluster } from './cluster.js';
import { calmNetwork, type FaultKnobs } from './network.js';
import { ownersOf } from '../../lightweight-groups/index.js';

export interface RunOptions {
  seed: number;
  members: number;
  /** Ticks with faults. Default 1500. */
  safetyTicks?: number;
  /** Most ticks the healed cluster gets to converge. Default 4000. */
  livenessTicksMax?: number;
  /** Inject crashes, pauses, partitions, leaves (else only a lossy network). Default true. */
  faults?: boolean;
  /** Chance per tick per member of a multicast. Default 0.05. */
  multicastProbability?: number;
  /** A harsher mix: delays up to 20 ticks, partitions up to ~1000 ticks (past the give-up time). */
  harsh?: boolean;
  /**
   * The workload and fault mix of the runs the regression seeds were found in: a fixed mix of
   * flavors (~20% safe), default sequencer placement, fixed fault weights. Without it (the
   * default) each seed also draws its own mix from a stream of its own (swarm testing): fault
   * rate and weights, multicast rate, and in a share of runs the product's traffic — every
   * multicast a safe, elided abcast sequenced at its group's first owner (broker/mesh).
   */
  classic?: boolean;
  /** Every view heartbeats in a star (core `heartbeatAllMax` 0), whatever its size. */
  star?: boolean;
  /** Some abcasts take their stream over (core `takeOver`): sequencers move within views. */
  moves?: boolean;
  /**
   * `false`: members never give up their incarnation on a timer (core `isolatedTicksMax`), as in
   * the mesh; a member cut off from any primary waits for one to come back, or to be excluded.
   */
  giveUp?: false;
}

/** What a seed drew for its run besides the fault schedule (swarm testing); undefined knobs keep the classic mix. */
export interface Swarm {
  /** Every multicast safe, elided, total, on a few streams sequenced at their first owner. */
  product: boolean;
  /** Chance per tick of a fault. */
  faultRate: number;
  /** Relative weights of crash, pause, partition, leave (a zero turns one off). */
  weights: [number, number, number, number];
  multicastProbability: number;
}

/** A seed's swarm draw, from a stream of its own (so the classic draws of `random` stay as they were). */
export function swarmOf(seed: number): Swarm {
  const r = prng(seed ^ 0x2545f491);
  const weight = (): number => (r() < 0.2 ? 0 : r());
  const weights: Swarm['weights'] = [weight(), weight(), weight(), weight()];
  if (weights.every((w) => w === 0)) weights[1] = 1;
  return {
    product: r() < 0.3,
    faultRate: 1 / (40 + Math.floor(r() * 300)),
    weights,
    multicastProbability: 0.01 + r() * 0.09,
  };
}

/** The mesh's placement: a lightweight group's stream is sequenced at its first owner (rendezvous hashing). */
const firstOwner = (stream: number, members: readonly string[]): string => ownersOf(stream, members, 2)[0]!;

export interface RunResult {
  seed: number;
  violations: Violation[];
  converged: boolean;
  ticks: number;
  events: string[];
  replay: string;
  /** `moved`: with `moves`, streams sequenced away from their place at the end of the calm phase (`calmMoves`). */
  stats: { peerMessages: number; multicasts: number; installs: number; moved: number };
  /** The seed's swarm draw (absent in a classic run). */
  swarm?: Swarm;
}

const orders: MulticastOptions['order'][] = ['fifo', 'causal', 'total', 'total', 'fifo', 'causal', 'group'];

export function runSimulation(options: RunOptions): RunResult {
  const random = prng(options.seed);
  const n = options.members;
  const safetyTicks = options.safetyTicks ?? 1500;
  const livenessTicksMax = options.livenessTicksMax ?? 4000;
  const faults = options.faults ?? true;
  const swarm = options.classic === true ? undefined : swarmOf(options.seed);
  const pMulticast = options.multicastProbability ?? swarm?.multicastProbability ?? 0.05;
  const knobs: FaultKnobs = {
    delayTicksMin: 1,
    delayTicksMax: 1 + Math.floor(random() * (options.harsh === true ? 20 : 6)),
    lossProbability: random() * 0.05,
    duplicateProbability: random() * 0.03,
  };
  const cluster = new SimCluster(random, knobs, { ...(options.star === true ? { heartbeatAllMax: 0 } : {}), ...(options.giveUp === false ? { isolatedTicksMax: Number.MAX_SAFE_INTEGER } : {}) }, swarm?.product === true ? firstOwner : undefined);
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const events: string[] = [`knobs ${JSON.stringify(knobs)}`, ...(swarm === undefined ? [] : [`swarm ${JSON.stringify(swarm)}`])];
  const log = (what: string): void => void events.push(`t${cluster.now} ${what}`);
  let multicasts = 0;
  let healAt = -1;
  const restartAt = new Map<string, number>();

  cluster.start(names[0]!, true);
  const startAt = new Map(names.slice(1).map((name, i) => [name, 1 + i * 3]));

  // Audiences draw from their own stream so that the fault and workload schedule of a seed is
  // the same with them as without (the regression seeds replay the runs they were found in).
  const audienceRandom = prng(options.seed ^ 0x5bd1e995);
  // Take-overs too (with `moves`), so that a seed runs the same schedule with them as without.
  const moveRandom = prng(options.seed ^ 0x27d4eb2f);
  const maybeMove = (opts: MulticastOptions): void => {
    if (options.moves === true && moveRandom() < 0.05) opts.takeOver = true;
  };
  const workload = (): void => {
    for (const sim of cluster.running()) {
      if (sim.member.status !== 'member' || random() >= pMulticast) continue;
      if (swarm?.product === true) {
        // The product's traffic: safe, elided abcasts on a lightweight group's stream; brokers come
        // into and go out of a group's audience with the same kind of message.
        const opts: MulticastOptions = { order: 'total', safe: true, elide: true, stream: Math.floor(random() * 4) };
        const roll = audienceRandom();
        if (roll < 0.2) opts.audience = 'add';
        else if (roll < 0.3) opts.audience = 'remove';
        maybeMove(opts);
        cluster.multicast(sim.name, { n: ++multicasts, e: 1 }, opts);
        continue;
      }
      const order = orders[Math.floor(random() * orders.length)]!;
      const opts: MulticastOptions = { order, safe: random() < 0.2 };
      if (order === 'total') {
        opts.stream = Math.floor(random() * 3);
        const roll = audienceRandom();
        if (roll < 0.15) opts.audience = 'add';
        else if (roll < 0.25) opts.audience = 'remove';
        else if (roll < 0.75) opts.elide = true;
        maybeMove(opts);
      }
      cluster.multicast(sim.name, opts.elide === true ? { n: ++multicasts, e: 1 } : { n: ++multicasts }, opts);
    }
  };

  const injectFault = (): void => {
    const live = cluster.live();
    const crashed = names.filter((nm) => !cluster.members.get(nm)?.alive);
    let roll = random();
    const victim = live[Math.floor(random() * live.length)];
    if (victim === undefined) return;
    if (swarm !== undefined) {
      // The seed's weights map the roll onto the classic bands (crash, pause, partition, leave).
      const [c, p, s, l] = swarm.weights;
      const x = roll * (c + p + s + l);
      roll = x < c ? 0.2 : x < c + p ? 0.3 : x < c + p + s ? 0.5 : 0.75;
    }
    if (roll < 0.25 && crashed.length < Math.floor((n - 1) / 2) && majoritySurvives(cluster, victim.member.id)) {
      log(`crash ${victim.member.id}`);
      cluster.crash(victim.name);
      restartAt.set(victim.name, cluster.now + 50 + Math.floor(random() * 250));
    } else if (roll < 0.4) {
      const ticks = 70 + Math.floor(random() * 60);
      log(`pause ${victim.member.id} for ${ticks}`);
      cluster.pause(victim.name, ticks);
    } else if (roll < 0.7 && healAt < 0) {
      const kind = random();
      if (kind < 0.4) {
        log(`isolate ${victim.name}`);
        cluster.partition = { kind: 'isolate', name: victim.name };
      } else if (kind < 0.8) {
        const side = new Set(names.filter(() => random() < 0.5));
        log(`split ${[...side].join(',')} | rest`);
        cluster.partition = { kind: 'split', side };
      } else {
        const other = names[Math.floor(random() * n)]!;
        log(`one-way ${victim.name} -> ${other}`);
        cluster.partition = { kind: 'one-way', from: victim.name, to: other };
      }
      healAt = cluster.now + 80 + Math.floor(random() * (options.harsh === true ? 900 : 200));
    } else if (roll < 0.8 && (victim.member.view?.members.length ?? 0) > 3) {
      log(`leave ${victim.member.id}`);
      cluster.leave(victim.name);
      restartAt.set(victim.name, cluster.now + 100 + Math.floor(random() * 200));
    }
  };

  let groupLostAt = -1;
  const lifecycle = (): void => {
    // The founding rule: when no group answers for a while, the seed (m0) founds one again.
    const anyMember = cluster.live().some((s) => s.member.status === 'member');
    if (anyMember || startAt.size > 0) groupLostAt = -1;
    else if (groupLostAt < 0) {
      groupLostAt = cluster.now;
      log(`group lost: ${lostGroupSummary(cluster)}`);
    }
    else if (cluster.now - groupLostAt > 200) {
      log('no group: the seed founds one');
      cluster.crash('m0');
      cluster.start('m0', true);
      restartAt.delete('m0');
      groupLostAt = -1;
    }
    for (const [name, at] of startAt) {
      if (cluster.now >= at) {
        startAt.delete(name);
        cluster.start(name, false);
      }
    }
    for (const sim of [...cluster.members.values()]) {
      const due = restartAt.get(sim.name);
      // The runtime restarts a stopped (excluded, left) broker as a new incarnation; a crashed one when due.
      if (sim.stopped !== undefined && sim.alive && due === undefined) restartAt.set(sim.name, cluster.now + 20);
      if (due !== undefined && cluster.now >= due && (!sim.alive || sim.stopped !== undefined)) {
        restartAt.delete(sim.name);
        log(`restart ${sim.name}`);
        cluster.start(sim.name, false);
      }
    }
  };

  for (let t = 0; t < safetyTicks; t++) {
    lifecycle();
    workload();
    if (faults && t > 100 && random() < (swarm?.faultRate ?? 1 / 120)) injectFault();
    if (healAt >= 0 && cluster.now >= healAt) {
      log('heal');
      cluster.partition = { kind: 'none' };
      healAt = -1;
    }
    cluster.step();
  }

  // Liveness: heal everything, restart whatever is down, let it settle.
  log('liveness phase');
  cluster.partition = { kind: 'none' };
  cluster.network.knobs = calmNetwork;
  for (const sim of cluster.members.values()) if (!sim.alive || sim.stopped !== undefined) restartAt.set(sim.name, cluster.now);
  let converged = false;
  let quietTicks = 0;
  for (let t = 0; t < livenessTicksMax; t++) {
    lifecycle();
    cluster.step();
    if (isSettled(cluster)) {
      if (++quietTicks >= 50) {
        converged = true;
        break;
      }
    } else {
      quietTicks = 0;
    }
  }
  const calm = converged && options.moves === true ? calmMoves(cluster, options.seed, livenessTicksMax) : undefined;
  const finalLive = cluster.live().map((s) => s.member.id);
  cluster.logFinalStates();
  if (process.env['SIM_DUMP'] !== undefined) {
    const [member, from, to] = process.env['SIM_DUMP'].split(':');
    for (const e of cluster.logs.get(member!) ?? []) {
      const v = e.kind === 'install' ? e.view.id : 'view' in e ? e.view : -1;
      if (v >= Number(from) && v <= Number(to)) console.log(JSON.stringify(e));
    }
  }
  const violations = checkRun({ logs: cluster.logs, finalLive });
  if (!converged) violations.unshift({ property: 'LIVENESS', message: `no convergence within ${livenessTicksMax} ticks of the liveness phase: ${describe(cluster)}` });
  if (calm !== undefined) violations.unshift(...calm.violations);
  let installs = 0;
  for (const entries of cluster.logs.values()) installs += entries.filter((e) => e.kind === 'install').length;
  return {
    seed: options.seed,
    violations,
    converged,
    ticks: cluster.now,
    events,
    replay: `npm run sim -- --seed ${options.seed} --members ${n}${faults ? '' : ' --no-faults'}${options.harsh === true ? ' --harsh' : ''}${options.classic === true ? ' --classic' : ''}${options.star === true ? ' --star' : ''}${options.moves === true ? ' --moves' : ''}${options.giveUp === false ? ' --no-give-up' : ''}`,
    stats: { peerMessages: cluster.network.sentTotal, multicasts, installs, moved: calm?.moved ?? 0 },
    ...(swarm === undefined ? {} : { swarm }),
  };
}

/**
 * Whether the current view keeps a strict majority of running members if `victim` crashes: a
 * primary-partition group cannot outlive the loss of a majority of its view, so the random
 * faults never cause one (that case is a scripted scenario of its own).
 */
function majoritySurvives(cluster: SimCluster, victim: string): boolean {
  const view = cluster.live().map((s) => s.member.view).filter((v) => v !== undefined).sort((a, b) => b!.id - a!.id)[0];
  if (view === undefined) return false;
  const running = new Set(cluster.live().map((s) => s.member.id));
  const left = view.members.filter((m) => m !== victim && running.has(m)).length;
  return 2 * (left - 1) > view.members.length;
}

/** Every live member is in one view of exactly the live members, unblocked, with nothing pending. */
/**
 * With `moves`, after the liveness phase: abcasts with one take-over in five, in the one view and
 * without faults, then quiet. A stream stalled inside a view shows here as a LIVENESS violation —
 * during the faults the next view change would put every stream back and hide it; and a view
 * change now, with nothing failing, is a violation too (a stall taken for a cut link, say). At the
 * end every member must name the same sequencer for each stream; `moved` counts the streams
 * sequenced away from where the view placed them (take-overs that took effect).
 */
function calmMoves(cluster: SimCluster, seed: number, ticksMax: number): { violations: Violation[]; moved: number } {
  const random = prng(seed ^ 0x68e31da4);
  const streams = 4;
  const viewOf = (): number | undefined => cluster.live()[0]?.member.view?.id;
  const view = viewOf();
  const violations: Violation[] = [];
  for (let t = 0; t < 300; t++) {
    for (const sim of cluster.running()) {
      if (sim.member.status !== 'member' || random() >= 0.1) continue;
      const opts: MulticastOptions = { order: 'total', safe: random() < 0.5, stream: Math.floor(random() * streams) };
      if (random() < 0.2) opts.takeOver = true;
      cluster.multicast(sim.name, { calm: t }, opts);
    }
    cluster.step();
  }
  let quietTicks = 0;
  for (let t = 0; t < ticksMax && quietTicks < 50; t++) {
    cluster.step();
    quietTicks = isSettled(cluster) ? quietTicks + 1 : 0;
  }
  if (quietTicks < 50) violations.push({ property: 'LIVENESS', message: `the calm phase with take-overs did not settle within ${ticksMax} ticks: ${describe(cluster)}` });
  if (viewOf() !== view) violations.push({ property: 'LIVENESS', message: `the view changed from ${view} to ${viewOf()} in the calm phase, with nothing failing` });
  let moved = 0;
  for (let stream = 0; stream < streams; stream++) {
    const named = new Set(cluster.live().map((s) => s.member.sequencerOf(stream)));
    if (named.size !== 1) violations.push({ property: 'LIVENESS', message: `members name ${named.size} sequencers for stream ${stream}: ${[...named].join(', ')}` });
    const first = cluster.live()[0]?.member;
    if (first !== undefined && first.sequencerOf(stream) !== first.placeOf(stream)) moved++;
  }
  return { violations, moved };
}

function isSettled(cluster: SimCluster): boolean {
  const live = cluster.live();
  if (live.length === 0) return true;
  const ids = new Set(live.map((s) => s.member.id));
  const first = live[0]!.member.view;
  if (first === undefined) return false;
  // A paused process has not read what was sent to it yet: not settled until it runs again.
  if (live.some((s) => cluster.now < s.pausedUntil)) return false;
  for (const sim of live) {
    const m = sim.member;
    if (m.status !== 'member' || m.view?.id !== first.id || m.frozen || m.outgoing.pending.size > 0) return false;
    if (m.view.members.length !== ids.size || !m.view.members.every((id) => ids.has(id))) return false;
  }
  return true;
}

function describe(cluster: SimCluster): string {
  return cluster
    .live()
    .map((s) => s.member.describe())
    .join('\n  ');
}

/**
 * The last view any member installed, and which of its members run now (alive, not paused, not
 * stopped) and whether the network is whole: a group lost while a majority of its last view runs
 * on a whole network is worth a look (the flush's liveness gaps showed so).
 */
function lostGroupSummary(cluster: SimCluster): string {
  let last: { id: number; members: readonly string[] } | undefined;
  for (const entries of cluster.logs.values()) {
    for (const e of entries) if (e.kind === 'install' && (last === undefined || e.view.id > last.id)) last = e.view;
  }
  if (last === undefined) return 'no view was installed';
  const running = new Set(cluster.running().map((s) => s.member.id));
  const up = last.members.filter((m) => running.has(m));
  return `last view ${last.id} [${last.members.join(',')}], running ${up.length}: [${up.join(',')}], network ${cluster.network.partition.kind}`;
}
