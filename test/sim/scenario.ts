/**
 * Scripted scenarios: the classic cases of group communication, written as a few lines of text
 * and run deterministically on the simulator, then healed, settled and checked like random runs.
 *
 *   start m0 m1 m2          m0 founds, the others join; waits until all are in one view
 *   multicast m1 total 20    20 abcasts from m1 (orders: fifo causal total group; add `safe`,
 *                            `stream=K` for an abcast's stream, sequenced at members[K mod n],
 *                            `elide` for its payload to reach only the stream's audience, and
 *                            `audience=add|remove` to bring m1 into the stream's audience or out)
 *   tick 30                  let 30 ticks pass
 *   await block              run until some member blocks for a flush
 *   await final m0           run until m0, coordinating a flush, sends its final (still in flight)
 *   await view 2             run until every running member is in one view of 2 members
 *   crash m0 | pause m1 90 | leave m2 | restart m2
 *   partition m0,m1 | m2     cut every link between the two sides ("isolate m1" cuts one off,
 *                            "one-way m0 m2" cuts only what m0 sends to m2, "cut m1 m2" the
 *                            one link between m1 and m2, both ways, "deaf m0" everything sent
 *                            to m0 while what it sends arrives)
 *   bridge m1,m2 | m3,m4     cut every link between the two sides; the others hear both
 *   also cut m1 m4           one more cut on top of those in place (each command above replaces them)
 *   lose leave-done          every peer message of this kind is lost from now on, until `heal`
 *   heal
 *   mark                     remember this moment for `expect no-install-since-mark`
 *   expect view m0 m1 m2     after settling: the final view holds exactly these names
 *   expect non-primary m2    some incarnation of m2 knew itself outside the primary
 *   expect excluded m1       some incarnation of m1 was excluded (and came back)
 *   expect no-install-since-mark   nobody installed a view between `mark` and the next `heal`
 *   expect delivered-as m4 m1   m4 delivered in its last view exactly what m1 delivered there
 *   expect primary-throughout m1 m2   none of these ever knew itself outside the primary
 */
import { prng } from '../helpers/prng.js';
import { checkRun, formatViolations } from './checker.js';
import { SimCluster } from './cluster.js';
import { calmNetwork, type FaultKnobs, type Partition } from './network.js';
import type { CoreConfig, MulticastOptions } from '../../broker/core/index.js';

export interface ScenarioResult {
  ok: boolean;
  report: string;
}

const awaitTicksMax = 5000;

export function runScenario(script: string, seed = 1, knobs: FaultKnobs = calmNetwork, config: Partial<CoreConfig> = {}): ScenarioResult {
  const cluster = new SimCluster(prng(seed), knobs, config);
  const failures: string[] = [];
  const expectations: string[][] = [];
  let markAt = -1;
  let installsAfterMark: number | undefined;
  let counter = 0;

  const until = (what: string, done: () => boolean): void => {
    for (let t = 0; t < awaitTicksMax; t++) {
      if (done()) return;
      restartStopped(cluster);
      cluster.step();
    }
    failures.push(`timed out waiting for ${what}`);
  };

  for (const raw of script.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [command, ...args] = line.split(/\s+/);
    switch (command) {
      case 'start': {
        args.forEach((name, i) => cluster.start(name, i === 0 && cluster.members.size === 0));
        until(`a view of ${cluster.live().length}`, () => cluster.inOneView(cluster.live().length));
        break;
      }
      case 'multicast': {
        const [name, order, count, ...rest] = args as [string, MulticastOptions['order'], string | undefined, ...string[]];
        if (!['fifo', 'causal', 'total', 'group'].includes(order)) {
          failures.push(`unknown order in: ${line}`);
          break;
        }
        const stream = rest.map((a) => /^stream=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined);
        const audience = rest.map((a) => /^audience=(add|remove)$/.exec(a)?.[1]).find((v) => v !== undefined) as MulticastOptions['audience'];
        const elide = rest.includes('elide');
        const options: MulticastOptions = { order, safe: rest.includes('safe'), ...(stream === undefined ? {} : { stream: Number(stream) }), ...(elide ? { elide } : {}), ...(audience === undefined ? {} : { audience }) };
        // An elided payload says so (`e`): the application digests it and its stub alike (app.ts).
        for (let i = 0; i < Number(count ?? 1); i++) cluster.multicast(name, elide ? { n: ++counter, e: 1 } : { n: ++counter }, options);
        break;
      }
      case 'tick':
        for (let t = 0; t < Number(args[0]); t++) cluster.step();
        break;
      case 'await':
        if (args[0] === 'block') {
          const blocks = cluster.blockedAt.length;
          until('a flush to start', () => cluster.blockedAt.length > blocks);
        } else if (args[0] === 'final') {
          const sent = cluster.finalsSent.get(args[1]!) ?? 0;
          until(`${args[1]} to send a flush final`, () => (cluster.finalsSent.get(args[1]!) ?? 0) > sent);
        } else {
          until(`a view of ${args[1]}`, () => cluster.inOneView(Number(args[1])));
        }
        break;
      case 'crash':
        cluster.crash(args[0]!);
        break;
      case 'pause':
        cluster.pause(args[0]!, Number(args[1]));
        break;
      case 'leave':
        cluster.leave(args[0]!);
        break;
      case 'restart':
        cluster.start(args[0]!, false);
        break;
      case 'one-way':
      case 'deaf':
      case 'isolate':
      case 'cut':
      case 'bridge':
      case 'partition':
        cluster.partition = partitionOf(command, args);
        break;
      case 'also': {
        // Another cut on top of the ones in place: `also cut m1 m4`.
        const [what, ...rest] = args;
        const current = cluster.network.partition;
        const parts = current.kind === 'none' ? [] : current.kind === 'all' ? current.parts : [current];
        cluster.partition = { kind: 'all', parts: [...parts, partitionOf(what!, rest)] };
        break;
      }
      case 'split-all':
        // Every member on its own: each link cut (the 1|1|1 case).
        cluster.partition = { kind: 'split', side: new Set() };
        cluster.network.knobs = { ...cluster.network.knobs, lossProbability: 1 };
        break;
      case 'heal':
        if (markAt >= 0 && installsAfterMark === undefined) {
          const during = cluster.installedAt.filter((i) => i.tick >= markAt);
          installsAfterMark = during.length;
          if (process.env['SCENARIO_DEBUG'] !== undefined) console.log(markAt, cluster.now, JSON.stringify(during));
        }
        cluster.partition = { kind: 'none' };
        cluster.network.knobs = knobs;
        cluster.network.lostKinds.clear();
        break;
      case 'lose':
        cluster.network.lostKinds.add(args[0]!);
        break;
      case 'mark':
        markAt = cluster.now;
        break;
      case 'expect':
        expectations.push(args);
        break;
      default:
        failures.push(`unknown command: ${line}`);
    }
  }

  // Settle: heal, bring back whatever stopped, wait for one view of everyone.
  cluster.partition = { kind: 'none' };
  cluster.network.knobs = knobs;
  until('the group to settle', () => cluster.inOneView(cluster.live().length) && cluster.live().every((s) => s.member.status === 'member' && s.member.outgoing.pending.size === 0));
  for (let t = 0; t < 100; t++) cluster.step();

  for (const [what, ...names] of expectations) {
    const logsOf = (name: string) => [...cluster.logs.entries()].filter(([id]) => id.split('#')[0] === name).flatMap(([, entries]) => entries);
    if (what === 'view') {
      const final = cluster.live()[0]?.member.view?.members.map((m) => m.split('#')[0]).sort() ?? [];
      if (final.join() !== [...names].sort().join()) failures.push(`final view is [${final}], expected [${names}]`);
    } else if (what === 'non-primary') {
      if (!logsOf(names[0]!).some((e) => e.kind === 'non-primary')) failures.push(`${names[0]} never knew itself outside the primary`);
    } else if (what === 'primary-throughout') {
      for (const name of names) if (logsOf(name).some((e) => e.kind === 'non-primary')) failures.push(`${name} knew itself outside the primary`);
    } else if (what === 'excluded') {
      if (!logsOf(names[0]!).some((e) => e.kind === 'excluded')) failures.push(`${names[0]} was never excluded`);
    } else if (what === 'delivered-as') {
      // The first member's first incarnation delivered in its last view what the second delivered there.
      const first = [...cluster.logs.entries()].find(([id]) => id.split('#')[0] === names[0])?.[1] ?? [];
      const last = first.filter((e) => e.kind === 'install').at(-1);
      const inView = (entries: typeof first, view: number): string =>
        entries.flatMap((e) => (e.kind === 'deliver' && e.view === view ? [e.msg] : [])).sort().join();
      const theirs = inView(logsOf(names[1]!), last?.kind === 'install' ? last.view.id : -1);
      const mine = inView(first, last?.kind === 'install' ? last.view.id : -1);
      if (mine !== theirs) failures.push(`${names[0]} delivered [${mine}] in its last view, ${names[1]} [${theirs}]`);
    } else if (what === 'no-install-since-mark') {
      if (installsAfterMark !== 0) failures.push(`${installsAfterMark ?? '?'} views were installed while no primary was possible`);
    } else {
      failures.push(`unknown expectation: ${what}`);
    }
  }
  const violations = checkRun({ logs: cluster.logs, finalLive: cluster.live().map((s) => s.member.id) });
  const report = [...failures, ...(violations.length > 0 ? [formatViolations(violations, 12)] : [])].join('\n');
  return { ok: report === '', report };
}

/** The links a partition command cuts. */
function partitionOf(command: string, args: string[]): Partition {
  const sides = (): [Set<string>, Set<string>] => {
    const bar = args.indexOf('|');
    const side = (words: string[]): Set<string> => new Set(words.join(',').split(',').filter(Boolean));
    return [side(args.slice(0, bar)), side(args.slice(bar + 1))];
  };
  switch (command) {
    case 'one-way':
      return { kind: 'one-way', from: args[0]!, to: args[1]! };
    case 'deaf':
      return { kind: 'deaf', name: args[0]! };
    case 'isolate':
      return { kind: 'isolate', name: args[0]! };
    case 'cut':
      return { kind: 'sides', left: new Set([args[0]!]), right: new Set([args[1]!]) };
    case 'bridge': {
      const [left, right] = sides();
      return { kind: 'sides', left, right };
    }
    case 'partition':
      return { kind: 'split', side: sides()[0] };
    default:
      throw new Error(`not a partition: ${command}`);
  }
}

/** The runtime brings back a member that was excluded as a new incarnation (one that left stays out). */
function restartStopped(cluster: SimCluster): void {
  for (const sim of [...cluster.members.values()]) if (sim.alive && sim.stopped === 'excluded') cluster.start(sim.name, false);
}
