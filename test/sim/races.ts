/**
 * Races the scenario language cannot write: messages held back one by one and handed on so that
 * several arrive in one turn (`SimNetwork.holdBack` and `release`). Each race runs the cluster
 * and returns what the checker found; races.test.ts expects nothing, and the mutation runner
 * runs them beside the scripted scenarios.
 */
import { prng } from '../helpers/prng.js';
import { checkRun, type Violation } from './checker.js';
import { SimCluster } from './cluster.js';
import { calmNetwork, type InFlight } from './network.js';

export interface Race {
  name: string;
  run(): Violation[];
}

const nameOf = (id: string): string => id.split('#')[0]!;
const kindsOf = (m: InFlight): Array<{ kind: string; attempt?: number }> => (m.message.kind === 'batch' ? m.message.items : [m.message]) as Array<{ kind: string; attempt?: number }>;
const carries = (m: InFlight, kind: string): boolean => kindsOf(m).some((i) => i.kind === kind);

class Stuck extends Error {}

function until(cluster: SimCluster, what: string, done: () => boolean, ticksMax = 3000): void {
  for (let t = 0; t < ticksMax; t++) {
    if (done()) return;
    cluster.step();
  }
  throw new Stuck(`timed out waiting for ${what}`);
}

/**
 * A coordinator takes an older coordinator's final in the same turn as the last reports of its own
 * round come in: its own final must not go out (found by a review). Sent, the others held it and
 * named this coordinator — which held the older one — as a holder of theirs: three of five, a false
 * majority, and they installed a second view 5.
 */
function olderFinalInTheSameTurn(): Violation[] {
  const cluster = new SimCluster(prng(1), calmNetwork, {});
  const net = cluster.network;
  const member = (name: string) => cluster.members.get(name)!.member;
  cluster.start('m0', true);
  until(cluster, 'm0 alone', () => cluster.inOneView(1));
  cluster.start('m1', false);
  until(cluster, 'a view of 2', () => cluster.inOneView(2));
  for (const name of ['m2', 'm3', 'm4']) cluster.start(name, false);
  until(cluster, 'a view of 5', () => cluster.inOneView(5));

  // m3 and m4 cut off: m0 leads a round for m0 m1 m2, and m1 reports to it.
  cluster.partition = { kind: 'split', side: new Set(['m0', 'm1', 'm2']) };
  until(cluster, 'm1 to report to m0', () => member('m1').participant.following?.coordinator === member('m0').id);
  const attempt = member('m1').participant.following!.attempt;
  // Then m1 hears nothing more from m0 (held back), while m0 hears m1; m1 loses m2 and finds m3
  // and m4 again. m2's report reaches m0 30 ticks late, so m0's final goes out late.
  const lateAt = cluster.now + 30;
  cluster.partition = {
    kind: 'all',
    parts: [
      { kind: 'sides', left: new Set(['m0', 'm2']), right: new Set(['m3', 'm4']) },
      { kind: 'sides', left: new Set(['m1']), right: new Set(['m2']) },
    ],
  };
  net.holdBack = (m) =>
    (nameOf(m.from) === 'm0' && nameOf(m.to) === 'm1') ||
    (nameOf(m.from) === 'm2' && nameOf(m.to) === 'm0' && carries(m, 'flush-state') && cluster.now < lateAt) ||
    (nameOf(m.to) === 'm1' && ['m3', 'm4'].includes(nameOf(m.from)) && carries(m, 'flush-state'));
  until(cluster, 'm2 to be late', () => cluster.now >= lateAt);
  net.release((m) => nameOf(m.from) === 'm2');
  until(cluster, 'm0 to send its final', () => (cluster.finalsSent.get('m0') ?? 0) > 0);
  // m1 takes m0 for gone and leads a round with m3 and m4, whose reports are held back.
  const reportTo1 = (from: string) => (m: InFlight) => nameOf(m.to) === 'm1' && nameOf(m.from) === from && carries(m, 'flush-state');
  until(cluster, 'm1 to collect from m3 and m4', () => member('m1').coordinator.inRound && net.heldBack.some(reportTo1('m3')) && net.heldBack.some(reportTo1('m4')));
  // In one turn m1 receives m0's final (it reported to that round), then both reports.
  const finals = net.heldBack.filter((m) => nameOf(m.from) === 'm0' && kindsOf(m).some((i) => i.kind === 'flush-final' && i.attempt === attempt));
  const last = finals.at(-1);
  if (last === undefined) throw new Stuck("m0's final to m1 was not held back");
  net.release((m) => m === last);
  net.release((m) => reportTo1('m3')(m) || reportTo1('m4')(m));
  net.holdBack = (m) => nameOf(m.from) === 'm0' && nameOf(m.to) === 'm1' && !carries(m, 'flush-final') && !carries(m, 'install');
  for (let t = 0; t < 6; t++) cluster.step();
  // Back to the first split: m0 commits its final; m3 and m4 try to move on with theirs.
  net.holdBack = undefined;
  net.heldBack.length = 0;
  cluster.partition = { kind: 'split', side: new Set(['m0', 'm1', 'm2']) };
  for (let t = 0; t < 400; t++) cluster.step();
  return checkRun({ logs: cluster.logs });
}

function guarded(run: () => Violation[]): () => Violation[] {
  return () => {
    try {
      return run();
    } catch (e) {
      if (e instanceof Stuck) return [{ property: 'RACE', message: e.message } as Violation];
      throw e;
    }
  };
}

export function races(): Race[] {
  return [{ name: "a coordinator takes an older coordinator's final in the turn its own round's last reports come in", run: guarded(olderFinalInTheSameTurn) }];
}
