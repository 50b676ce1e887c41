/**
 * The chaos run's hands and eyes on the mesh: applying a fault and taking it back after its
 * duration (kill -9, SIGTERM, SIGSTOP, isolation, a cut link, a bridge), and asking the brokers
 * over HTTP where they stand (views, primary, a topic's copy).
 */
import type { MeshHarness } from '../helpers/mesh.js';
import { pollUntil } from '../helpers/wait.js';
import { describeFault, type Fault } from './schedule.js';

/** A fault's duration: the schedule's clock, not a wait for an event. */
const hold = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies one fault and takes it back after its duration. */
export async function applyFault(mesh: MeshHarness, f: Fault, stopped: Set<number>, note: (what: string) => void): Promise<void> {
  const [x, y] = f.targets as [number, number];
  note(`fault ${f.n}: ${describeFault(f)}`);
  switch (f.kind) {
    case 'kill':
      await mesh.kill(x);
      await hold(f.durationMs);
      await mesh.restart(x);
      note(`fault ${f.n}: b${x} restarted`);
      return;
    case 'term': {
      const member = await mesh.memberOf(x);
      const code = await mesh.brokers[x]!.stop('SIGTERM');
      if (code !== 0) mesh.killed.push(member); // it did not leave in time and was killed
      await hold(f.durationMs);
      await mesh.restart(x);
      note(`fault ${f.n}: b${x} restarted`);
      return;
    }
    case 'stop':
      process.kill(mesh.brokers[x]!.pid, 'SIGSTOP');
      stopped.add(x);
      await hold(f.durationMs);
      stopped.delete(x);
      process.kill(mesh.brokers[x]!.pid, 'SIGCONT');
      note(`fault ${f.n}: b${x} continued`);
      return;
    case 'isolate':
      mesh.net.isolate(x);
      await hold(f.durationMs);
      for (let j = 0; j < mesh.brokers.length; j++) if (j !== x) mesh.net.restore(x, j);
      note(`fault ${f.n}: b${x} reconnected`);
      return;
    case 'cut':
      mesh.net.cut(x, y);
      await hold(f.durationMs);
      mesh.net.restore(x, y);
      note(`fault ${f.n}: b${x}–b${y} restored`);
      return;
    case 'bridge': {
      const [a1, a2, b1, b2] = f.targets as [number, number, number, number];
      mesh.net.bridge([a1, a2], [b1, b2]);
      await hold(f.durationMs);
      for (const a of [a1, a2]) for (const b of [b1, b2]) mesh.net.restore(a, b);
      note(`fault ${f.n}: bridge healed`);
      return;
    }
  }
}

export interface ClusterState {
  ready: boolean;
  broker?: string;
  view?: number;
  members: number;
  memberIds: string[];
}

async function clusterOf(httpUrl: string): Promise<ClusterState> {
  try {
    const res = await fetch(`${httpUrl}/api/v1/cluster`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { ready?: boolean; broker?: string; view?: { id: number; members: string[] } | null };
    const memberIds = body.view?.members ?? [];
    return { ready: body.ready === true && body.broker !== undefined && memberIds.includes(body.broker), broker: body.broker, ...(body.view ? { view: body.view.id } : {}), members: memberIds.length, memberIds };
  } catch {
    return { ready: false, members: 0, memberIds: [] };
  }
}

export async function clusterViews(mesh: MeshHarness): Promise<ClusterState[]> {
  return Promise.all(mesh.brokers.map((b) => clusterOf(b.httpUrl)));
}

export function oneView(states: ClusterState[], size: number): boolean {
  const first = states[0];
  return first !== undefined && states.every((s) => s.ready && s.members === size && s.view === first.view);
}

/** Whether broker i is in a primary view that contains it (and at least a majority). */
async function healthy(mesh: MeshHarness, i: number, stopped: Set<number>): Promise<boolean> {
  if (stopped.has(i)) return false;
  const b = mesh.brokers[i]!;
  if (b.child.exitCode !== null || b.child.signalCode !== null) return false;
  const s = await clusterOf(b.httpUrl);
  return s.ready && s.members > mesh.brokers.length / 2;
}

/**
 * Waits until fault `f` may start: its targets are in a primary view, and with the brokers not in
 * one now it puts at most two out. The brokers are asked over HTTP (nothing pushes it), every 250 ms.
 */
export async function waitForRoom(mesh: MeshHarness, f: Fault, stopped: Set<number>, active: Set<Fault>, timeoutMs: number, tick: () => void): Promise<{ ok: true } | { ok: false; why: string }> {
  let why = '';
  const roomy = async (): Promise<boolean> => {
    tick();
    const states = await Promise.all(mesh.brokers.map((_, i) => healthy(mesh, i, stopped)));
    // Out: what running faults cost, and every other broker not (yet again) in a primary view.
    const faulted = new Set([...active].flatMap((a) => a.targets));
    const out = [...active].reduce((n, a) => n + a.cost, 0) + states.filter((h, i) => !h && !faulted.has(i)).length;
    const targetsIn = f.targets.every((t) => states[t] && !faulted.has(t));
    why = `brokers out of a primary view: ${states.flatMap((h, i) => (h ? [] : [`b${i}`])).join(', ') || 'none'} (targets ${f.targets.map((t) => `b${t}`).join(', ')}) after ${timeoutMs} ms`;
    return targetsIn && out + f.cost <= 2;
  };
  return (await polled(roomy, timeoutMs, 250)) ? { ok: true } : { ok: false, why };
}

/** Whether `check` (a question to the brokers, over HTTP) holds within `timeoutMs`. */
export function polled(check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  return pollUntil(check, timeoutMs, 'a condition of the mesh', everyMs).then(
    () => true,
    () => false,
  );
}

/** A topic as broker `httpUrl` keeps it (asked again, a few times, if the broker does not answer). */
export async function fetchTopic(httpUrl: string, topic: string): Promise<{ seq: number; state: unknown; epoch: string } | undefined> {
  let got: { seq: number; state: unknown; epoch: string } | undefined;
  await polled(async () => {
    const res = await fetch(`${httpUrl}/api/v1/topics/${topic}`, { signal: AbortSignal.timeout(5000) });
    if (res.ok) got = (await res.json()) as { seq: number; state: unknown; epoch: string };
    return got !== undefined;
  }, 2500, 500);
  return got;
}
