/**
 * The chaos run's fault schedule: a list of faults with planned start times and durations, drawn
 * from a seed alone (so a seed replays the same faults in the same order on the same brokers). The
 * plan keeps at most two brokers out at once, counting a broker as out while its fault lasts and
 * for a recovery margin after it (a restart, a rejoin, loads): a kill, SIGSTOP, SIGTERM or
 * isolation puts its target out, a cut link puts one of its two ends out (the coordinator leaves
 * one out), a bridge partition (two brokers | two brokers, a fifth hearing both) puts one side —
 * two brokers — out. So a connected majority (three brokers that all hear each other, running)
 * exists throughout. The runner applies each fault only once its targets are back in a primary
 * view (time may slip; the order and targets do not).
 */
import { prng } from '../helpers/prng.js';

export type FaultKind = 'kill' | 'stop' | 'term' | 'isolate' | 'cut' | 'bridge';

export interface Fault {
  /** Position in the schedule, from 1. */
  n: number;
  kind: FaultKind;
  /** Planned start, ms after the fault phase began. */
  at: number;
  /** How long the fault lasts (down, stopped or cut), ms. */
  durationMs: number;
  /** kill/stop/term/isolate: [target]; cut: [a, b]; bridge: [a1, a2, b1, b2, bridge]. */
  targets: number[];
  /** Brokers the fault can put out of the primary view. */
  cost: number;
}

/** Suspicion timeout of the mesh (cluster-node.ts: 150 ticks of 10 ms). */
export const suspicionMs = 1500;
/** Time after a fault ends that the plan lets its brokers recover before they count as in again. */
const recoveryMs = 6000;

const weights: Array<[FaultKind, number]> = [
  ['kill', 2],
  ['stop', 2],
  ['term', 1.5],
  ['isolate', 1.5],
  ['cut', 2],
  ['bridge', 1],
];

export function planFaults(seed: number, seconds: number, size = 5): Fault[] {
  const random = prng(seed * 7919 + 17);
  const between = (lo: number, hi: number): number => Math.round(lo + random() * (hi - lo));
  const pick = <T>(from: readonly T[]): T => from[Math.floor(random() * from.length)]!;
  const shuffle = <T>(from: readonly T[]): T[] => {
    const out = [...from];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const end = seconds * 1000;
  const faults: Fault[] = [];
  const busy: Array<{ until: number; brokers: number[]; cost: number }> = [];
  for (let t = 2000; ; ) {
    t += between(500, 3000);
    if (t > end - 4000) break;
    for (let i = busy.length - 1; i >= 0; i--) if (busy[i]!.until <= t) busy.splice(i, 1);
    const total = weights.reduce((s, [, w]) => s + w, 0);
    let r = random() * total;
    let kind: FaultKind = 'kill';
    for (const [k, w] of weights) {
      if ((r -= w) < 0) {
        kind = k;
        break;
      }
    }
    const cost = kind === 'bridge' ? 2 : 1;
    const free = Array.from({ length: size }, (_, i) => i).filter((i) => !busy.some((b) => b.brokers.includes(i)));
    const used = busy.reduce((s, b) => s + b.cost, 0);
    const needs = kind === 'cut' ? 2 : kind === 'bridge' ? size : 1;
    if (used + cost > 2 || free.length < needs) continue;
    const durationMs =
      kind === 'stop' ? between(suspicionMs + 1000, suspicionMs + 3500)
      : kind === 'kill' || kind === 'term' ? between(300, 4000)
      : between(3000, 8000);
    if (t + durationMs > end - 2000) continue;
    const targets = kind === 'cut' ? shuffle(free).slice(0, 2).sort((a, b) => a - b) : kind === 'bridge' ? shuffle(free) : [pick(free)];
    faults.push({ n: faults.length + 1, kind, at: t, durationMs, targets, cost });
    busy.push({ until: t + durationMs + recoveryMs, brokers: targets, cost });
  }
  return faults;
}

export function describeFault(f: Fault): string {
  const b = (i: number): string => `b${i}`;
  switch (f.kind) {
    case 'kill':
      return `kill -9 ${b(f.targets[0]!)}, restart after ${f.durationMs} ms`;
    case 'term':
      return `SIGTERM ${b(f.targets[0]!)}, restart after ${f.durationMs} ms`;
    case 'stop':
      return `SIGSTOP ${b(f.targets[0]!)} for ${f.durationMs} ms`;
    case 'isolate':
      return `isolate ${b(f.targets[0]!)} for ${f.durationMs} ms`;
    case 'cut':
      return `cut ${b(f.targets[0]!)}–${b(f.targets[1]!)} for ${f.durationMs} ms`;
    case 'bridge': {
      const [a1, a2, b1, b2, c] = f.targets as [number, number, number, number, number];
      return `bridge ${b(a1)},${b(a2)} | ${b(b1)},${b(b2)} through ${b(c)} for ${f.durationMs} ms`;
    }
  }
}
