/**
 * One seeded run of whole brokers with clients: a mesh forms, subscribers
 * (some late) follow topics with state, publishers publish with retries, and
 * — with faults — brokers are killed and restarted, paused past the suspicion
 * timeout, and cut off in a minority, never more than R−1 of them out at once
 * (the promise holds while fewer than R owners fail). Then everything heals,
 * every publish is answered and every subscriber catches up, and the checker
 * reads it all: the topic promises (checker.ts) and the core's properties over
 * every broker's core log.
 */
import { decodeFrame, frameFromEncoded } from '../../../client/protocol/index.js';
import { prng } from '../../helpers/prng.js';
import { checkRun, formatViolations } from '../checker.js';
import { calmNetwork, type FaultKnobs } from '../network.js';
import { checkTopics, type TopicCopy, type TopicViolation } from './checker.js';
import { SimPublisher, SimSubscriber } from './clients.js';
import { World } from './world.js';
import { ownersOf } from '../../../lightweight-groups/index.js';

export interface WholeOptions {
  seed: number;
  brokers?: number;
  /** Owners per lightweight group (R). Default 2. */
  replicas?: number;
  faults?: boolean;
  harsh?: boolean;
  /** Ticks of the workload phase. Default 1500. */
  ticks?: number;
  /** Every view heartbeats in a star (core `heartbeatAllMax` 0), as views of more than 8 brokers do. */
  star?: boolean;
  /**
   * Graceful leaves among the faults (SIGTERM: drain, leave, exit), and with `replicas` 3 or more a
   * second broker leaving soon after the first — before the groups are whole again — as a rolling
   * restart gone fast does. Off by default, so that every other seed replays its run.
   */
  leaves?: boolean;
  /**
   * The clients' requests of a tick are performed together, as the runtime does with one pass of
   * the event loop, and publishers sometimes publish a few at once: commands to one group travel
   * as one batch (broker/node/mesh-stream.ts). Off by default, so that every other seed replays.
   */
  batching?: boolean;
  /**
   * Brokers take a group's stream over as soon as they publish most of it (broker/node/takeover-policy.ts,
   * looking every 100 ms for 3 messages rather than every second for 20), so take-overs meet
   * the faults. Off by default, so that every other seed replays.
   */
  moves?: boolean;
  /**
   * Brokers claim a group to own it as soon as most of its traffic is theirs (broker/node/claim-policy.ts,
   * looking every 100 ms for 300 bytes and withdrawing after 3 looks, rather than every second for
   * 64 KiB and after 10), so that owners move under the faults. Off by default, so that every
   * other seed replays.
   */
  claims?: boolean;
  /**
   * Among the faults, a partition that cuts off every owner of one group at once (a minority, so
   * the rest goes on): the group's every ready copy leaves the primary view alive. The group must
   * wait for them and come back to their copy — nothing acknowledged lost, no group started again
   * empty — once they return as new incarnations. Off by default, so that every other seed replays.
   */
  cutOwners?: boolean;
  /**
   * Ack rounds a broker may send at the end of its turns within one tick, whatever they carry
   * (core `ackRoundsPerTick`; the mesh runs 5). Unset: the simulator's 1, so that every other
   * seed replays its run.
   */
  ackRounds?: number;
}

export interface WholeResult {
  ok: boolean;
  violations: TopicViolation[];
  report: string;
  stats: { acks: number; deliveries: number; faults: number; views: number; ticks: number; salvaged: number; behind: number; takeovers: number; claims: number; released: number; claimedGroups: number };
  log: string[];
}

const topics = ['room.a', 'room.b', 'room.c', 'feed.x', 'feed.y', 'game.1'];

/** The `npm run sim -- --whole` flags that replay a run of `options` (after `--seed`). */
export function replayFlags(options: WholeOptions): string {
  const o = options;
  return [
    o.brokers === undefined ? '' : ` --members ${o.brokers}`,
    o.harsh === true ? ' --harsh' : '',
    o.faults === false ? ' --no-faults' : '',
    o.star === true ? ' --star' : '',
    o.leaves === true ? ' --leaves' : '',
    o.batching === true ? ' --batching' : '',
    o.cutOwners === true ? ' --cut-owners' : '',
    o.moves === true ? ' --moves' : '',
    o.claims === true ? ' --claims' : '',
    o.ackRounds === undefined ? '' : ` --ack-rounds ${o.ackRounds}`,
    o.replicas === undefined ? '' : ` --replicas ${o.replicas}`,
  ].join('');
}

export function runWhole(options: WholeOptions): WholeResult {
  const random = prng(options.seed);
  const n = options.brokers ?? 5;
  const replicas = options.replicas ?? 2;
  const faults = options.faults ?? true;
  const knobs: FaultKnobs = options.harsh === true ? { delayTicksMin: 1, delayTicksMax: 12, lossProbability: 0.05, duplicateProbability: 0.03 } : { delayTicksMin: 1, delayTicksMax: 4, lossProbability: 0.02, duplicateProbability: 0.01 };
  const names = Array.from({ length: n }, (_, i) => `b${i}`);
  const world = new World(random, knobs, names, { lwgCount: 4, replicas }, { ...(options.star === true ? { heartbeatAllMax: 0 } : {}), ...(options.ackRounds === undefined ? {} : { ackRoundsPerTick: options.ackRounds }) }, options.batching === true, options.moves === true ? { lookMs: 100, messagesMin: 3 } : undefined, options.claims === true ? { lookMs: 100, bytesMin: 300, releaseLooks: 3 } : undefined);
  // Bursts draw from a stream of their own (the workload's draws stay as they are).
  const burstRandom = prng(options.seed ^ 0x1b873593);
  const log: string[] = [];
  const say = (line: string): void => void log.push(`t${world.now} ${line}`);

  // The mesh forms.
  world.start(names[0]!, true);
  for (const name of names.slice(1)) world.start(name, false);
  for (let t = 0; t < 3000 && !oneView(world, n); t++) world.step();

  const subscribers: SimSubscriber[] = [];
  const publishers: SimPublisher[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const addSubscriber = (): void => {
    const s = new SimSubscriber(world, `s${subscribers.length}`, names, random);
    for (const topic of topics) if (random() < 0.5) s.subscribe(topic);
    subscribers.push(s);
  };
  for (let i = 0; i < 4; i++) addSubscriber();
  for (let i = 0; i < 3; i++) publishers.push(new SimPublisher(world, `p${i}`, names, random));
  // One publisher without publish ids (HTTP without an Idempotency-Key): nothing but the brokers'
  // own ordering keeps its publishes from being applied twice.
  publishers[2]!.withIds = false;

  // The workload, with faults.
  const ticks = options.ticks ?? 1500;
  const down = new Map<string, number>(); // name → tick it comes back
  let faultCount = 0;
  let settling = false;
  const stepClients = (): void => {
    for (const c of [...subscribers, ...publishers]) c.step();
  };
  for (let t = 0; t < ticks; t++) {
    if (random() < 0.15) {
      const p = pick(publishers);
      const roll = random();
      if (p.unanswered < 50) p.publish(pick(topics), roll < 0.2 ? 'state' : roll < 0.4 ? 'patch' : 'event');
      if (options.batching === true && p.unanswered < 50) {
        for (let more = Math.floor(burstRandom() * 4); more > 0; more--) p.publish(topics[Math.floor(burstRandom() * topics.length)]!, burstRandom() < 0.2 ? 'state' : 'event');
      }
    }
    if (t === Math.floor(ticks / 3) || t === Math.floor((2 * ticks) / 3)) addSubscriber();
    // A fault only once every group is whole again (every owner holds a ready copy): the promise
    // holds while fewer than R owners fail at once, and a copy still loading is not one yet.
    if (faults && random() < 0.004 && groupsWhole(world, names.length)) {
      const out = [...down.keys()].length + (world.network.partition.kind === 'none' ? 0 : 1);
      const victim = pick(names);
      const roll = random();
      if (out < replicas - 1 && !down.has(victim)) {
        faultCount++;
        if (options.leaves === true && roll < 0.35) {
          say(`leave ${victim}`);
          world.leave(victim);
          down.set(victim, world.now + 320 + Math.floor(random() * 200));
          const second = names.filter((n) => n !== victim && !down.has(n));
          if (replicas >= 3 && out + 1 < replicas - 1 && second.length > 0 && random() < 0.7) {
            const other = pick(second);
            const after = 10 + Math.floor(random() * 90);
            down.set(other, world.now + after + 320 + Math.floor(random() * 200));
            const incarnation = world.brokers.get(other)?.node.id;
            world.later(world.now + after, () => {
              // Not once the liveness phase has brought everyone back (nor to another incarnation).
              if (settling || world.brokers.get(other)?.node.id !== incarnation) return;
              say(`leave ${other}`);
              world.leave(other);
            });
          }
        } else if (options.cutOwners === true && out === 0 && roll < 0.6 && replicas * 2 < n) {
          const table = world.brokers.get(pick([...world.brokers.keys()]))!.node.replicas.table;
          const g = Math.floor(random() * table.config.lwgCount);
          const side = new Set(table.ownersOf(g).map((m) => m.slice(0, m.lastIndexOf('#'))));
          say(`cut off the owners of group ${g}: ${[...side].join(',')}`);
          world.partition = { kind: 'split', side };
          down.set(`~owners`, world.now + 150 + Math.floor(random() * 300));
          // Its copies are out until well after they come back (their new incarnations rejoin).
          for (const name of side) down.set(`=${name}`, world.now + 800);
        } else if (roll < 0.4) {
          say(`kill -9 ${victim}`);
          world.crash(victim);
          down.set(victim, world.now + 100 + Math.floor(random() * 300));
        } else if (roll < 0.7) {
          const ticksPaused = 70 + Math.floor(random() * 100);
          say(`pause ${victim} for ${ticksPaused}`);
          world.pause(victim, ticksPaused);
          // Past the suspicion timeout it is excluded and comes back as a new incarnation that
          // loads its copies again: it counts as out until well after it runs again.
          down.set(`=${victim}`, world.now + ticksPaused + 300);
        } else {
          say(`isolate ${victim}`);
          world.partition = { kind: 'isolate', name: victim };
          down.set(`~${victim}`, world.now + 150 + Math.floor(random() * 300));
        }
      }
    }
    for (const [name, at] of [...down]) {
      if (world.now < at) continue;
      down.delete(name);
      if (name.startsWith('~')) {
        say('heal');
        world.partition = { kind: 'none' };
      } else if (name.startsWith('=')) {
        // the pause ends by itself
      } else {
        say(`restart ${name}`);
        world.start(name, false);
      }
    }
    stepClients();
    world.step();
  }

  // Heal and settle: every publish answered, every subscriber current.
  say('liveness phase');
  settling = true;
  world.partition = { kind: 'none' };
  world.network.knobs = calmNetwork;
  // Brokers still draining after a SIGTERM finish leaving (their runtime's bounded wait) first.
  for (let t = 0; t < 400 && [...world.brokers.values()].some((b) => b.alive && b.exitAt !== undefined); t++) {
    stepClients();
    world.step();
  }
  // Whatever is down comes back (a broker whose leave was still to come never went).
  for (const name of down.keys()) if (!name.startsWith('~') && !name.startsWith('=') && world.brokers.get(name)?.alive !== true) world.start(name, false);
  down.clear();
  let settled = false;
  for (let t = 0; t < 6000; t++) {
    stepClients();
    world.step();
    if (t % 20 === 0 && isSettled(world, n, subscribers, publishers)) {
      settled = true;
      break;
    }
  }

  // L1 one table: every broker computes the same lightweight-group table from the same view and
  // the same controls in the same order (lightweight-groups/table.ts), a joiner from the snapshot it
  // was given. Settled (one view, nothing unordered), every running broker's must be the same.
  // (A control in flight may be delivered at one broker a few ticks before another: they must
  // agree once it is everywhere, within a bound.) L2 groups in place: every group is held by
  // exactly its owners, each with a complete copy — a new owner (a claim, a view) loaded it, and a
  // broker that is no longer one let its copy go (no run has a wildcard subscriber).
  const tablesOf = (): Array<{ id: string; table: string }> => [...world.brokers.values()].filter((b) => b.alive).map((b) => ({ id: b.node.id, table: JSON.stringify(b.node.replicas.table.all()) }));
  const misplaced = (): string[] =>
    (tablesOf().length === 0 ? [] : (JSON.parse(tablesOf()[0]!.table) as Array<{ lwg: number; owners: string[]; holders: Array<{ broker: string; ready: boolean }> }>))
      .filter((g) => g.holders.length !== g.owners.length || !g.holders.every((h) => h.ready && g.owners.includes(h.broker)))
      .map((g) => `group ${g.lwg}: owners ${g.owners.join(',')}, holders ${g.holders.map((h) => `${h.broker}${h.ready ? '' : ' (loading)'}`).join(',')}`);
  // The run goes on until that holds and it is settled again (at most 2,000 ticks more), and the
  // topic predicates below then check the copies as they are after the hand-overs.
  const placed = (): boolean => new Set(tablesOf().map((x) => x.table)).size === 1 && misplaced().length === 0;
  for (let t = 0; settled && t < 2000 && !(placed() && isSettled(world, n, subscribers, publishers)); t++) {
    stepClients();
    world.step();
  }
  const copies: TopicCopy[] = [];
  for (const broker of world.brokers.values()) {
    if (!broker.alive) continue;
    for (const name of broker.node.topics.table.names()) {
      if (!broker.node.replicas.keeps(name)) continue;
      const topic = broker.node.topics.table.get(name)!;
      copies.push({
        broker: broker.node.id,
        topic: name,
        epoch: topic.epoch,
        seq: topic.seq,
        state: topic.state,
        history: topic.history.all().map((e) => decodeHistory(e)),
      });
    }
  }
  const violations = checkTopics({
    subscriptions: subscribers.flatMap((s) => s.records),
    acks: publishers.flatMap((p) => p.acks),
    publishErrors: publishers.flatMap((p) => p.errors),
    copies,
  });
  if (!settled) violations.unshift({ property: 'LIVENESS', message: `not settled: ${describe(world, subscribers, publishers)}` });
  // Faults come only while every group is whole, so no group may be lost: that would lose
  // acknowledged publishes with fewer than R owners failed. Listed first: it is the cause of what
  // the topic predicates then find.
  for (const line of world.events.filter((l) => l.includes('lwg-state-lost')).reverse()) violations.unshift({ property: 'LOST', message: `a group was lost although fewer than R owners failed at once: ${line}` });
  if (settled) {
    const tables = tablesOf();
    const [first] = tables;
    for (const t of tables) {
      if (t.table === first!.table) continue;
      const mine = JSON.parse(t.table) as unknown[];
      const theirs = JSON.parse(first!.table) as unknown[];
      const g = mine.findIndex((x, i) => JSON.stringify(x) !== JSON.stringify(theirs[i]));
      violations.push({ property: 'L1', message: `${t.id}'s lightweight-group table is not ${first!.id}'s: group ${g} is ${JSON.stringify(mine[g])} against ${JSON.stringify(theirs[g])}` });
    }
    for (const m of misplaced()) violations.push({ property: 'L2', message: `not held by exactly its owners, ready, within 2,000 ticks of the run settling: ${m}` });
  }
  const core = checkRun({ logs: world.coreLogs });
  for (const c of core) violations.push({ property: `core ${c.property}`, message: c.message });
  let views = 0;
  for (const b of world.brokers.values()) views += b.node.viewsTotal;
  if (process.env['WHOLE_DEBUG'] !== undefined) {
    for (const s of subscribers) for (const r of s.records) if (r.topic === process.env['WHOLE_DEBUG']) console.log(s.id, JSON.stringify(r.wire.filter((w) => w.type === 'reply')), JSON.stringify(r.resyncs), r.firstSeq, r.sub.seq);
    for (const c of copies) if (c.topic === process.env['WHOLE_DEBUG']) console.log(c.broker, c.epoch, c.seq, JSON.stringify(c.history.map((h) => [h.seq, (h.data as { c: string; n: number }).c + (h.data as { c: string; n: number }).n])));
    for (const line of world.events) if (line.includes(process.env['WHOLE_DEBUG']) || line.includes('lwg') || line.includes('cluster')) console.log(line);
  }
  return {
    ok: violations.length === 0,
    violations,
    report: violations.length === 0 ? '' : `${formatViolations(violations as never)}`,
    stats: {
      acks: publishers.reduce((a, p) => a + p.acks.length, 0),
      deliveries: subscribers.reduce((a, s) => a + s.records.reduce((b, r) => b + r.delivered.length, 0), 0),
      faults: faultCount,
      views,
      ticks: world.now,
      // Groups that came back to a copy kept through an exclusion, and of them those behind.
      salvaged: world.events.filter((l) => l.includes('lwg-salvaged')).length,
      behind: world.events.filter((l) => l.includes('lwg-salvaged') && l.includes('"behind":true')).length,
      takeovers: world.takeovers,
      claims: world.claims,
      // Copies let go by brokers that were no longer owners (a view change or a claim moved them).
      released: world.events.filter((l) => l.includes('lwg-released')).length,
      // Groups whose owners at the end are not the ones the view places: claims moved them.
      claimedGroups: claimedGroups(world),
    },
    log,
  };
}

function decodeHistory(entry: { seq: number; encoded: Uint8Array }): { seq: number; data: unknown; kind: string } {
  const m = decodeOne(entry.encoded) as { seq: number; data: unknown; kind: string };
  return { seq: entry.seq, data: m.data, kind: m.kind };
}

function decodeOne(encoded: Uint8Array): unknown {
  const d = decodeFrame(frameFromEncoded([encoded], encoded.byteLength));
  if (!d.ok) throw new Error('undecodable history entry');
  return d.messages[0];
}

/** Groups whose owners (at a running broker) are not the view's rendezvous owners. */
function claimedGroups(world: World): number {
  const b = [...world.brokers.values()].find((x) => x.alive && x.node.view !== undefined);
  if (b === undefined) return 0;
  const table = b.node.replicas.table;
  return table.all().filter((g) => g.owners.join() !== ownersOf(g.lwg, b.node.view!.members, table.config.replicas).join()).length;
}

/** One view of all brokers, and in it every group's owners ready. */
function groupsWhole(world: World, n: number): boolean {
  if (!oneView(world, n)) return false;
  const table = world.brokers.get('b0')!.node.replicas.table;
  for (let g = 0; g < table.config.lwgCount; g++) if (!table.ownersReady(g)) return false;
  return true;
}

function oneView(world: World, n: number): boolean {
  const views = [...world.brokers.values()].map((b) => b.node.view);
  return views.every((v) => v !== undefined && v.members.length === n && v.id === views[0]!.id);
}

function isSettled(world: World, n: number, subscribers: SimSubscriber[], publishers: SimPublisher[]): boolean {
  if (!oneView(world, n)) return false;
  if (publishers.some((p) => p.unanswered > 0)) return false;
  // The group itself is quiet: nothing frozen, no own multicast (a control, say) still unordered.
  for (const b of world.brokers.values()) if (b.node.member.frozen || b.node.member.outgoing.pending.size > 0) return false;
  // Every active subscription is at the topic's seq as the brokers keeping it know it.
  const seqOf = new Map<string, number>();
  for (const b of world.brokers.values()) for (const name of b.node.topics.table.names()) seqOf.set(name, Math.max(seqOf.get(name) ?? 0, b.node.topics.table.get(name)!.seq));
  return subscribers.every((s) => s.records.every((r) => !r.sub.active || (!r.sub.pending && r.sub.seq >= (seqOf.get(r.topic) ?? 0))));
}

function describe(world: World, subscribers: SimSubscriber[], publishers: SimPublisher[]): string {
  const brokers = [...world.brokers.values()].map((b) => `${b.node.id}${b.alive ? '' : ' (dead)'} view=${b.node.view?.id ?? '-'}[${b.node.view?.members.join(',') ?? ''}] primary=${b.node.isPrimary}`);
  const behind = subscribers.flatMap((s) => s.records.filter((r) => r.sub.active && r.sub.pending).map((r) => `${s.id}:${r.topic} pending at ${r.sub.seq}`));
  const unanswered = publishers.filter((p) => p.unanswered > 0).map((p) => `${p.id}: ${p.unanswered} unanswered`);
  return [...brokers, ...behind, ...unanswered].join('; ');
}
