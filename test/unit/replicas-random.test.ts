// Random runs of broker/node/replicas.ts over the deterministic stand-in for the core group
// (test/helpers/replica-net.ts): three lightweight groups, publishes and presence changes from
// every broker, subscribes and unsubscribes, wildcard holds, each origin's requests ordered
// only among themselves, snapshots that come early, late, out of order or never, brokers
// leaving and coming back as new incarnations (one at a time, while every owner is ready, so
// fewer than R owners are ever lost at once). After a healed, quiet end, every run must show:
// every copy a broker serves (seq, epoch, state, presence) equals its group server's; every live
// subscription saw exactly seq+1 … current; no group was lost; every subscribe was answered;
// every publish answered (or awaiting its answer, which times out into a retry) with distinct
// seqs per topic; and a new subscribe anywhere completes. A second mode loses both owners of a
// group at once: then only agreement and liveness must hold. A third has brokers claim groups and
// withdraw their claims at random (owners that follow traffic), so that copies are handed over
// between views too. A failing seed replays.
import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import { ReplicaNet, type ReplicaBroker } from '../helpers/replica-net.js';
import { groupWaitMs } from '../../broker/node/replicas.js';

interface Sub {
  broker: ReplicaBroker;
  topic: string;
  rec: { startedAt?: number; seq?: number; failed?: boolean };
  live: boolean;
}

function run(seed: number, losses = false, claims = false): string[] {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const names = ['a', 'b', 'c', 'd', 'e'];
  const net = new ReplicaNet(names, 2, 3);
  net.install([...names]);
  net.settle();
  const topics = ['t0', 't1', 't2', 't3', 't4'];
  let lost = false;
  const subs: Sub[] = [];
  const published: Array<{ broker: ReplicaBroker; topic: string; key: string }> = [];
  const incarnation = new Map(names.map((n) => [n, 1]));
  const events: string[] = [];
  const live = (): ReplicaBroker[] => net.view.map((id) => net.get(id));
  const copy = (b: ReplicaBroker, t: string): string => {
    const topic = b.table.get(t);
    return JSON.stringify([topic?.seq, topic?.epoch, topic?.state, [...(topic?.presence ?? [])].sort()]);
  };
  // Deliveries reach every broker in one step, so at every step every copy a broker serves must
  // equal its group server's (brokers still loading serve nothing).
  const divergence = (b: ReplicaBroker): string[] => {
    const table = b.replicas.table;
    const out: string[] = [];
    for (const t of topics) {
      const server = table.server(table.lwgOf(t));
      if (server === undefined || !b.replicas.keeps(t)) continue;
      if (copy(b, t) !== copy(net.get(server), t)) out.push(`${b.id} serves ${t} as ${copy(b, t)}, the server ${server} has ${copy(net.get(server), t)}`);
    }
    return out;
  };
  const diverged: string[] = [];

  for (let step = 0; step < 400; step++) {
    if (diverged.length === 0) for (const b of live()) diverged.push(...divergence(b).map((d) => `at step ${step}: ${d}`));
    const r = random();
    if (r < 0.25) {
      const b = pick(live());
      const topic = pick(topics);
      published.push({ broker: b, topic, key: net.publish(b.id, topic, { step }) });
    } else if (r < 0.3) {
      const b = pick(live());
      net.presence(b.id, pick(topics), `s${Math.floor(random() * 3)}`, random() < 0.6);
    } else if (r < 0.4) {
      const b = pick(live());
      const topic = pick(topics);
      if (subs.some((s) => s.live && s.broker === b && s.topic === topic)) continue;
      const sub: Sub = { broker: b, topic, rec: {}, live: true };
      subs.push(sub);
      const rec = b.subscribe(topic);
      sub.rec = rec;
      events.push(`${step} sub ${b.id} ${topic}`);
    } else if (r < 0.46) {
      const mine = subs.filter((s) => s.live && s.rec.startedAt !== undefined && net.view.includes(s.broker.id));
      if (mine.length === 0) continue;
      const s = pick(mine);
      s.live = false;
      s.broker.pinned.delete(s.topic);
      s.broker.replicas.unpin(s.topic);
      events.push(`${step} unsub ${s.broker.id} ${s.topic}`);
    } else if (r < 0.49) {
      const b = pick(live());
      if (claims && random() < 0.7) {
        const g = Math.floor(random() * 3);
        const on = random() < 0.6;
        b.replicas.claim(g, on);
        events.push(`${step} ${on ? 'claim' : 'unclaim'} ${b.id} ${g}`);
      } else b.replicas.patterns(random() < 0.5 ? 1 : 0);
    } else if (r < 0.75) {
      if (net.queue.length === 0) continue;
      net.reorder(Math.floor(random() * 8));
      net.step(random() < 0.3 ? [pick(net.view)] : [], random() < 0.3);
    } else if (r < 0.9) {
      if (net.notes.length === 0) continue;
      const [n] = net.notes.splice(Math.floor(random() * net.notes.length), 1);
      if (random() < 0.15) continue; // lost with its link
      net.notes.push(n!);
      const last = net.notes.splice(net.notes.length - 1, 1);
      net.notes.unshift(...last);
      const one = net.notes.shift()!;
      if (net.view.includes(one.to)) {
        const to = net.get(one.to).replicas;
        if (one.note.kind === 'lwg-snap') to.onSnapshot(one.note);
        else to.onResult(one.note);
      }
    } else if (r < 0.95) {
      net.clock += 6000;
      for (const b of live()) b.replicas.tick();
    } else {
      const server = live()[0]!.replicas.table;
      const dead = names.filter((n) => !net.view.some((id) => id.split('#')[0] === n));
      if (dead.length > 0 && random() < 0.6) {
        const n = pick(dead);
        const id = `${n}#${(incarnation.get(n) ?? 1) + 1}`;
        incarnation.set(n, (incarnation.get(n) ?? 1) + 1);
        net.install([...net.view, id]);
        events.push(`${step} join ${id}`);
      } else if (losses && net.view.length > 3 && random() < 0.3) {
        const victims = server.ownersOf(Math.floor(random() * 3));
        net.install(net.view.filter((id) => !victims.includes(id)));
        for (const s of subs) if (victims.includes(s.broker.id)) s.live = false;
        lost = true;
        events.push(`${step} lose ${victims.join(',')}`);
      } else if (net.view.length > 3 && [0, 1, 2].every((g) => server.ownersReady(g))) {
        const victim = pick(net.view);
        net.install(net.view.filter((id) => id !== victim));
        for (const s of subs) if (s.broker.id === victim) s.live = false;
        events.push(`${step} leave ${victim}`);
      }
    }
  }
  // Heal: everything delivered, time moves on so that loads ask again and waits time out (a group
  // whose copies all left waits groupWaitMs for them to come back, then starts empty).
  for (let round = 0; round < 6 + Math.ceil(groupWaitMs / 6000); round++) {
    net.settle();
    net.clock += 6000;
    for (const b of live()) b.replicas.tick();
  }
  net.settle();

  const problems = [...diverged];
  const table = live()[0]!.replicas.table;
  for (const b of live()) {
    if (!losses && b.replicas.figures.counts.lost > 0) problems.push(`${b.id} lost a group`);
    problems.push(...divergence(b));
  }
  for (const s of subs) {
    if (!s.live || !net.view.includes(s.broker.id) || lost) continue;
    if (s.rec.startedAt === undefined) {
      if (s.rec.failed !== true) problems.push(`subscribe ${s.broker.id} ${s.topic} never answered`);
      continue;
    }
    const seen = s.broker.seqsSince(s.topic, s.rec.startedAt);
    const now = s.broker.seq(s.topic) ?? 0;
    const want = Array.from({ length: now - s.rec.seq! }, (_, i) => s.rec.seq! + 1 + i);
    if (JSON.stringify(seen) !== JSON.stringify(want)) problems.push(`${s.broker.id} subscriber of ${s.topic} from ${s.rec.seq} saw ${seen.join(',')} (current ${now})`);
    if (!s.broker.replicas.keeps(s.topic)) problems.push(`${s.broker.id} does not keep ${s.topic}, which it has a subscriber to`);
  }
  // Liveness on a healed mesh: a new subscriber anywhere gets its topic (asking again once).
  for (const b of live()) {
    for (const t of topics) {
      if (b.pinned.has(t)) continue;
      const rec = b.subscribe(t);
      net.settle();
      net.clock += 6000;
      b.replicas.tick();
      net.settle();
      if (rec.startedAt === undefined) problems.push(`on the healed mesh, a subscribe at ${b.id} to ${t} did not complete`);
    }
  }
  const seqs = new Map<string, Set<number>>();
  for (const p of published) {
    if (!net.view.includes(p.broker.id) || lost) continue;
    const answer = p.broker.answers.get(p.key);
    if (answer === undefined) {
      if (!p.broker.awaiting.has(p.key)) problems.push(`publish ${p.key} never answered nor awaited`);
      continue;
    }
    if (typeof answer !== 'number') continue;
    const set = seqs.get(p.topic) ?? new Set();
    if (set.has(answer)) problems.push(`two publishes to ${p.topic} answered with seq ${answer}`);
    set.add(answer);
    seqs.set(p.topic, set);
  }
  if (problems.length > 0) problems.push(`events: ${events.slice(-30).join(' | ')}`);
  return problems;
}

describe('replicas under random runs', () => {
  it.each(Array.from({ length: 12 }, (_, i) => i * 25 + 1))('25 seeds from %i: every copy equal, every subscriber gap-free, every publish answered', (from) => {
    for (let seed = from; seed < from + 25; seed++) expect(run(seed), `seed ${seed}`).toEqual([]);
  });

  it.each(Array.from({ length: 4 }, (_, i) => i * 25 + 2001))('25 seeds from %i with claims said and withdrawn at random: every copy equal, every subscriber gap-free', (from) => {
    for (let seed = from; seed < from + 25; seed++) expect(run(seed, false, true), `seed ${seed}`).toEqual([]);
  });

  it.each(Array.from({ length: 4 }, (_, i) => i * 25 + 1001))('25 seeds from %i losing both owners of a group at once: copies still agree, subscribes complete', (from) => {
    for (let seed = from; seed < from + 25; seed++) expect(run(seed, true), `seed ${seed}`).toEqual([]);
  });
});
