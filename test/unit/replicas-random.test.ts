// Random runs of broker/mesh/replicas.ts over the deterministic stand-in for the core group
// (test/helpers/replica-net.ts): publishes from every broker, subscribes and unsubscribes,
// wildcard holds, snapshots that come early, late, out of order or never, brokers leaving and
// coming back as new incarnations (one at a time, while every owner is ready, so fewer than R
// owners are ever lost at once). After a healed, quiet end, every run must show: every copy a
// broker serves equals the group server's; every live subscription saw exactly seq+1 … current;
// no group was lost; every subscribe was answered; every publish answered (or awaiting its
// answer, which times out into a retry) with distinct seqs per topic. A failing seed replays.
import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import { ReplicaNet, type ReplicaBroker } from '../helpers/replica-net.js';

interface Sub {
  broker: ReplicaBroker;
  topic: string;
  rec: { startedAt?: number; seq?: number; failed?: boolean };
  live: boolean;
}

function run(seed: number): string[] {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const names = ['a', 'b', 'c', 'd'];
  const net = new ReplicaNet(names, 2);
  net.install([...names]);
  net.settle();
  const topics = ['t0', 't1', 't2'];
  const subs: Sub[] = [];
  const published: Array<{ broker: ReplicaBroker; topic: string; key: string }> = [];
  const incarnation = new Map(names.map((n) => [n, 1]));
  const events: string[] = [];
  const live = (): ReplicaBroker[] => net.view.map((id) => net.get(id));

  for (let step = 0; step < 400; step++) {
    const r = random();
    if (r < 0.3) {
      const b = pick(live());
      const topic = pick(topics);
      published.push({ broker: b, topic, key: net.publish(b.id, topic, { step }) });
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
      b.replicas.patterns(random() < 0.5 ? 1 : 0);
    } else if (r < 0.75) {
      if (net.queue.length > 0) net.step(random() < 0.3 ? [pick(net.view)] : [], random() < 0.3);
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
      } else if (net.view.length > 3 && server.ownersReady(0)) {
        const victim = pick(net.view);
        net.install(net.view.filter((id) => id !== victim));
        for (const s of subs) if (s.broker.id === victim) s.live = false;
        events.push(`${step} leave ${victim}`);
      }
    }
  }
  // Heal: everything delivered, time moves on so that loads ask again and waits time out.
  for (let round = 0; round < 6; round++) {
    net.settle();
    net.clock += 6000;
    for (const b of live()) b.replicas.tick();
  }
  net.settle();

  const problems: string[] = [];
  const server = live()[0]!.replicas.table.server(0);
  const reference = server === undefined ? undefined : net.get(server);
  for (const b of live()) {
    if (b.replicas.counts.lost > 0) problems.push(`${b.id} lost the group`);
    for (const t of topics) {
      if (reference === undefined || !b.replicas.keeps(t)) continue;
      const mine = b.table.get(t);
      const theirs = reference.table.get(t);
      if (JSON.stringify([mine?.seq, mine?.epoch, mine?.state]) !== JSON.stringify([theirs?.seq, theirs?.epoch, theirs?.state])) {
        problems.push(`${b.id} serves ${t} at seq ${mine?.seq} (${mine?.epoch}), the server ${server} has ${theirs?.seq} (${theirs?.epoch})`);
      }
    }
  }
  for (const s of subs) {
    if (!s.live || !net.view.includes(s.broker.id)) continue;
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
    if (!net.view.includes(p.broker.id)) continue;
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
    for (let seed = from; seed < from + 25; seed++) {
      const problems = run(seed);
      expect(problems, `seed ${seed}`).toEqual([]);
    }
  });
});
