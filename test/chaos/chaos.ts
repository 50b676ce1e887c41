/**
 * A chaos run of our own: five real brokers (`--lwg-replicas 3`) on loopback, their links through
 * proxies the run owns (test/helpers/link-proxy.ts); subscribers with `state: true` on 20 topics,
 * each connected with every broker's URL (two join late); publishers with publishes in flight and
 * the client library's own retries; a seeded schedule (schedule.ts) of kill -9 + restart, SIGSTOP
 * past the suspicion timeout + SIGCONT, SIGTERM + restart, a broker isolated, one link cut, a
 * bridge partition — never more than two brokers out at once; then heal, settle and check
 * (observer.ts says what): acknowledged publishes everywhere, no seq twice, no gap without a
 * justified resync, no subscription ended, one (seq → data) per topic, state = fold at every broker
 * and subscriber, the longest stretch without an acknowledgement (a connected majority exists
 * throughout) under `stallBoundMs`, and the property checker over every core log.
 *
 * Bounded: every wait has a deadline; every broker process is killed by PID on any exit
 * (broker-process.ts), and `runChaos` stops everything it started before it returns or throws.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, Subscription } from '../../client/index.js';
import { connect } from '../../client/index.js';
import { formatViolations } from '../sim/checker.js';
import { MeshHarness } from '../helpers/mesh.js';
import { prng } from '../helpers/prng.js';
import { Observer, sameValue } from './observer.js';
import { describeFault, planFaults, suspicionMs, type Fault } from './schedule.js';
import { applyFault, clusterViews, fetchTopic, oneView, polled, waitForRoom } from './faults.js';
import { within } from '../helpers/wait.js';

export interface ChaosOptions {
  seed: number;
  /** Length of the fault phase. */
  seconds: number;
  brokers?: number;
  topics?: number;
  subscribers?: number;
  lateSubscribers?: number;
  publishers?: number;
  /** Longest stretch without an acknowledged publish allowed during the fault phase. */
  stallBoundMs?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  ok: boolean;
  violations: string[];
  faults: Record<string, number>;
  schedule: string[];
  acknowledged: number;
  publishFailures: number;
  longestStallMs: number;
  longestStallAround: string;
  resyncs: number;
  refusals: number;
  /** Messages handed to subscribers' handlers, and subscriptions checked at the end. */
  delivered: number;
  subscriptions: number;
  coreLogMembers: number;
  elapsedMs: number;
  logDir?: string;
}

const historyLength = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const size = options.brokers ?? 5;
  const topicCount = options.topics ?? 20;
  const stallBoundMs = options.stallBoundMs ?? 10_000;
  const log = options.log ?? (() => {});
  const started = performance.now();
  const observer = new Observer(historyLength);
  const mesh = new MeshHarness();
  const clients: Client[] = [];
  const stopped = new Set<number>();
  const active = new Set<Fault>();
  const events: Array<{ at: number; what: string }> = [];
  const t0 = performance.now();
  const note = (what: string): void => {
    events.push({ at: performance.now(), what });
    log(`  ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`);
  };
  const topics = Array.from({ length: topicCount }, (_, i) => `chaos.t${i}`);
  const schedule = planFaults(options.seed, options.seconds, size);
  const faultsApplied: Record<string, number> = {};
  const acks: Array<{ topic: string; seq: number; key: string; at: number }> = [];
  let publishFailures = 0;
  const failureCodes = new Map<string, number>();
  let publishing = true;
  const inflight: Array<Promise<unknown>> = [];
  let result: ChaosResult | undefined;
  let coreLogMembers = 0;
  let logDir: string | undefined;
  let stoppedAll = false;

  try {
    await mesh.start(size, {}, ['--lwg-replicas', '3']);
    const urls = mesh.brokers.map((b) => b.url);
    const rotated = (k: number): string[] => urls.map((_, j) => urls[(k + j) % urls.length]!);
    note(`mesh of ${size} up (links through proxies on ${mesh.net.prefix}.*)`);

    // Subscribers: every topic, with state, each client with every URL (its own broker first).
    const subs: Array<{ name: string; client: Client; subs: Map<string, Subscription> }> = [];
    const subscribe = async (k: number): Promise<void> => {
      const name = `s${k}`;
      const client = await connect(rotated(k), { WebSocket: observer.tap(name) });
      clients.push(client);
      client.on('error', (e) => observer.violation(`${name}: client error: ${e.message}`));
      const entry = { name, client, subs: new Map<string, Subscription>() };
      subs.push(entry);
      await Promise.all(
        topics.map(async (topic) => {
          const a = observer.app(name, topic);
          try {
            const sub = await client.subscribe(topic, (m) => observer.delivered(a, m.seq, m.kind, m.data), {
              state: true,
              onResync: (e) => observer.resynced(a, e.recovered, e.seq),
            });
            sub.on('ended', (e) => {
              a.ended = true;
              observer.violation(`${name} ${topic}: the subscription ended: ${e.error.message}`);
            });
            entry.subs.set(topic, sub);
          } catch (err) {
            observer.violation(`${name} ${topic}: subscribe failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }),
      );
    };
    const subscriberCount = options.subscribers ?? 5;
    const lateCount = options.lateSubscribers ?? 2;
    for (let k = 0; k < subscriberCount; k++) await subscribe(k);

    // Publishers: each its own pace, a few publishes in flight, the library's retries.
    const publisherCount = options.publishers ?? 4;
    const publishers = await Promise.all(
      Array.from({ length: publisherCount }, async (_, p) => {
        const client = await connect(rotated(p * 2 + 1), { WebSocket: observer.tap(`p${p}`) });
        clients.push(client);
        client.on('error', (e) => observer.violation(`p${p}: client error: ${e.message}`));
        // Where each publisher is (a stall while every publisher sits at a stopped broker is the
        // client's to notice, not the mesh's): in the event log the stall report quotes.
        client.on('reconnected', ({ broker }) => note(`p${p} now at ${broker.split('#')[0]}`));
        client.on('disconnected', ({ code }) => note(`p${p} disconnected (${code})`));
        return client;
      }),
    );
    const publishLoops = publishers.map(async (client, p) => {
      const rnd = prng(options.seed * 100 + p);
      let n = 0;
      let open = 0;
      while (publishing) {
        if (open < 6) {
          n++;
          const topic = topics[Math.floor(rnd() * topics.length)]!;
          const r = rnd();
          const id = `${p}.${n}`;
          const kind = r < 0.5 ? 'event' : r < 0.7 ? 'state' : 'patch';
          const data = kind === 'event' ? { id } : kind === 'state' ? { id, s: n } : { id, [`k${n % 5}`]: n, [`k${(n + 2) % 5}`]: null };
          open++;
          const done = client.publish(topic, data, { kind }).then(
            ({ seq }) => {
              acks.push({ topic, seq, key: JSON.stringify([kind, data]), at: performance.now() });
            },
            (err: Error & { code?: number }) => {
              if (!publishing && /closed/.test(err.message)) return;
              publishFailures++;
              const why = `${err.code ?? ''} ${err.message}`.slice(0, 80);
              failureCodes.set(why, (failureCodes.get(why) ?? 0) + 1);
            },
          ).finally(() => open--);
          inflight.push(done);
        }
        await sleep(35 + Math.floor(rnd() * 20));
      }
    });

    // The fault phase.
    const phaseStart = performance.now();
    const late = Array.from({ length: lateCount }, (_, i) => ({ at: ((i + 1) * options.seconds * 1000) / (lateCount + 1), k: subscriberCount + i, done: false }));
    const lateJoins: Array<Promise<void>> = [];
    const joinLate = (): void => {
      for (const l of late) {
        if (l.done || performance.now() - phaseStart < l.at) continue;
        l.done = true;
        note(`late subscriber s${l.k} joins`);
        lateJoins.push(subscribe(l.k).catch((err: unknown) => observer.violation(`late subscriber s${l.k}: ${String(err)}`)));
      }
    };
    const running: Array<Promise<void>> = [];
    let slipMs = 0;
    for (const fault of schedule) {
      while (performance.now() - phaseStart < fault.at + slipMs) {
        joinLate();
        await sleep(50);
      }
      const waitStart = performance.now();
      const ready = await waitForRoom(mesh, fault, stopped, active, 30_000, joinLate);
      slipMs += performance.now() - waitStart;
      if (!ready.ok) {
        observer.violation(`before fault ${fault.n} (${describeFault(fault)}): ${ready.why}`);
        break;
      }
      faultsApplied[fault.kind] = (faultsApplied[fault.kind] ?? 0) + 1;
      active.add(fault);
      running.push(
        applyFault(mesh, fault, stopped, note)
          .catch((err: unknown) => observer.violation(`fault ${fault.n} (${describeFault(fault)}): ${String(err)}`))
          .finally(() => active.delete(fault)),
      );
      // Faults are applied in order, each once its predecessors' targets recovered (see schedule.ts).
      await sleep(10);
    }
    // The fault phase lasts --seconds (a clock, not a wait for an event); each late subscriber
    // joins at its own time, by a timer of its own.
    joinLate();
    for (const l of late) if (!l.done) setTimeout(joinLate, Math.max(0, phaseStart + l.at - performance.now()));
    await sleep(Math.max(0, phaseStart + options.seconds * 1000 - performance.now()));
    joinLate();
    await Promise.all(running);
    const phaseEnd = performance.now();
    note('fault phase over: heal, continue, restart');

    // Heal and settle.
    mesh.net.heal();
    for (const i of stopped) process.kill(mesh.brokers[i]!.pid, 'SIGCONT');
    stopped.clear();
    for (let i = 0; i < size; i++) if (mesh.brokers[i]!.child.exitCode !== null || mesh.brokers[i]!.child.signalCode !== null) await mesh.restart(i);
    const healed = await polled(async () => oneView(await clusterViews(mesh), size), 40_000);
    if (!healed) observer.violation(`the mesh did not come back to one view of ${size} within 40 s of the heal: ${JSON.stringify(await clusterViews(mesh))}`);
    else note('one view of every broker');
    await Promise.all(lateJoins);
    publishing = false;
    await Promise.all(publishLoops);
    const flushed = await within(Promise.allSettled(inflight), 30_000, 'the publishes in flight').then(
      () => true,
      () => false,
    );
    if (!flushed) observer.violation('publishes still unanswered 30 s after the heal');
    note(`publishing stopped: ${acks.length} acknowledged`);

    // Each topic's last seq: the same at every broker, and every subscription reaches it.
    const finalSeq = new Map<string, number>();
    for (const topic of topics) {
      const seqs = new Set<number>();
      for (const o of acks) if (o.topic === topic) seqs.add(o.seq);
      finalSeq.set(topic, Math.max(0, ...seqs, ...(observer.sequence.get(topic)?.keys() ?? [])));
    }
    const caughtUp = await observer.arrived
      .wait(() => subs.every((s) => [...s.subs].every(([topic, sub]) => !sub.active || sub.seq >= finalSeq.get(topic)!)), 30_000, 'the subscriptions to catch up')
      .then(
        () => true,
        () => false,
      );
    if (!caughtUp) {
      const behind: string[] = [];
      for (const s of subs) for (const [topic, sub] of s.subs) if (sub.active && sub.seq < finalSeq.get(topic)!) behind.push(`${s.name} ${topic} at ${sub.seq} of ${finalSeq.get(topic)}`);
      observer.violation(`subscriptions not caught up 30 s after publishing stopped: ${behind.slice(0, 10).join('; ')}${behind.length > 10 ? ` (${behind.length} in all)` : ''}`);
    }

    // Final checks: brokers' copies, subscribers' state, every acknowledged publish everywhere.
    for (const topic of topics) {
      const last = finalSeq.get(topic)!;
      const fold = observer.fold(topic, last);
      if ('missing' in fold) {
        observer.violation(`${topic}: seq ${fold.missing} (of ${last}) was seen by no subscriber`);
        continue;
      }
      for (let i = 0; i < size; i++) {
        const got = await fetchTopic(mesh.brokers[i]!.httpUrl, topic);
        if (got === undefined) observer.violation(`b${i} ${topic}: no answer to GET /api/v1/topics`);
        else if (got.seq !== last) observer.violation(`b${i} ${topic}: at seq ${got.seq}, the topic is at ${last}`);
        else if (!sameValue(got.state, fold.state)) observer.violation(`b${i} ${topic}: state ${JSON.stringify(got.state)} is not the fold ${JSON.stringify(fold.state)}`);
      }
      for (const s of subs) {
        const sub = s.subs.get(topic);
        if (sub === undefined) continue;
        if (!sub.active) {
          observer.violation(`${s.name} ${topic}: the subscription is no longer active`);
          continue;
        }
        if (sub.seq === last && !sameValue(sub.state, fold.state)) observer.violation(`${s.name} ${topic}: sub.state ${JSON.stringify(sub.state)} is not the fold ${JSON.stringify(fold.state)}`);
      }
    }
    for (const a of acks) {
      const seen = observer.sequence.get(a.topic)?.get(a.seq);
      if (seen === undefined) observer.violation(`acknowledged ${a.topic} seq ${a.seq} (${a.key}) reached no subscriber`);
      else if (seen.key !== a.key) observer.violation(`acknowledged ${a.topic} seq ${a.seq} as ${a.key}, subscribers got ${seen.key} there`);
      for (const s of subs) {
        const sub = s.subs.get(a.topic);
        if (sub === undefined || !sub.active) continue;
        const app = observer.apps.get(`${s.name} ${a.topic}`)!;
        const w = observer.wire.get(`${s.name} ${a.topic}`);
        const first = w?.firstSeq ?? 0;
        if (a.seq <= first) continue;
        if (w?.skipped.some(([after, upTo]) => a.seq > after && a.seq <= upTo)) continue;
        if (!app.delivered.has(a.seq)) observer.violation(`acknowledged ${a.topic} seq ${a.seq} never reached ${s.name} (subscribed from seq ${first}, now at ${sub.seq})`);
      }
    }
    observer.checkSnapshots();

    // The longest stretch without an acknowledgement while faults ran (a connected majority throughout).
    const times = acks.map((a) => a.at).filter((t) => t >= phaseStart && t <= phaseEnd).sort((a, b) => a - b);
    let longest = 0;
    let longestAt = phaseStart;
    let previous = phaseStart;
    for (const t of [...times, phaseEnd]) {
      if (t - previous > longest) {
        longest = t - previous;
        longestAt = previous;
      }
      previous = t;
    }
    const around = events
      .filter((e) => e.at >= longestAt - 8000 && e.at <= longestAt + longest)
      .map((e) => `${((e.at - t0) / 1000).toFixed(1)} s ${e.what}`)
      .join('; ');
    if (longest > stallBoundMs) observer.violation(`no publish was acknowledged for ${Math.round(longest)} ms (bound ${stallBoundMs} ms; suspicion ${suspicionMs} ms) from ${((longestAt - t0) / 1000).toFixed(1)} s; around it: ${around}`);
    if (publishFailures > 0) note(`publish failures: ${[...failureCodes].map(([k, v]) => `${v}× ${k}`).join('; ')}`);

    // Stop everything, and the property checker over every core log.
    logDir = mesh.logDir;
    await Promise.allSettled(clients.map((c) => c.close()));
    clients.length = 0;
    stoppedAll = true;
    const core = await mesh.stopAndCheck();
    coreLogMembers = core.members;
    if (core.violations.length > 0) observer.violation(`core logs: ${formatViolations(core.violations, 10)}`);
    if (core.members === 0) observer.violation('no core log was written');
    if (core.unknownSources > 0) observer.violation(`${core.unknownSources} link connections from an address that is no broker's (cuts could not apply)`);

    result = {
      seed: options.seed,
      ok: observer.violations.length === 0,
      violations: observer.violations,
      faults: faultsApplied,
      schedule: schedule.map((f) => `${f.n}. +${(f.at / 1000).toFixed(1)} s ${describeFault(f)}`),
      acknowledged: acks.length,
      publishFailures,
      longestStallMs: Math.round(longest),
      longestStallAround: around,
      resyncs: observer.counts.appResyncs,
      refusals: observer.counts.refusals,
      delivered: [...observer.apps.values()].reduce((n, a) => n + a.delivered.size, 0),
      subscriptions: subs.reduce((n, s) => n + s.subs.size, 0),
      coreLogMembers,
      elapsedMs: Math.round(performance.now() - started),
    };
    return result;
  } finally {
    publishing = false;
    for (const i of stopped) {
      try {
        process.kill(mesh.brokers[i]!.pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    await Promise.allSettled(clients.map((c) => c.close()));
    if (!stoppedAll) {
      logDir = mesh.logDir;
      await mesh.stopAndCheck().catch(() => undefined);
    }
    // Logs are kept for a failing seed (the caller prints where), removed otherwise.
    if (logDir !== undefined && result !== undefined) {
      if (result.ok && process.env['CHORUS_KEEP_LOGS'] === undefined) rmSync(logDir, { recursive: true, force: true });
      else {
        result.logDir = logDir;
        writeFileSync(join(logDir, 'violations.txt'), `${result.violations.join('\n')}\n\nschedule:\n${result.schedule.join('\n')}\n`);
      }
    }
  }
}
