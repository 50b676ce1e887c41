/**
 * About how many bytes a value takes on a link (msgpack-like sizes, without encoding it), for the
 * figures operators read: the core's unstable bytes and the bytes of state transfers. Counting
 * decides nothing.
 */

/**
 * A payload of the core group: a topic command's topic, data and encoded payload (at most 64
 * values walked, so a large document costs no more than a small one to count) and a fixed part for
 * the rest — each command's, for a batch (mesh-stream.ts); stubs count nothing. Counted when a
 * message is held and again when it is freed: the same answer twice.
 */
export function payloadSize(payload: unknown): number {
  if (payload === null || payload === undefined) return 0;
  const { command, commands } = payload as { command?: unknown; commands?: unknown };
  if (Array.isArray(commands)) return commands.reduce((n: number, c) => n + commandSize(c), 0);
  return command === undefined ? 64 : commandSize(command);
}

/** A topic command's size: its topic, data and encoded payload (at most `values` values walked) and a fixed part. */
export function commandSize(command: unknown, values = 64): number {
  const c = command as { topic?: unknown; data?: unknown; encoded?: unknown } | null;
  const budget = { left: values };
  return 64 + approxSize(c?.topic, budget) + approxSize(c?.data, budget) + approxSize(c?.encoded, budget);
}

/** The size of `value`, walking at most `budget.left` values (what lies beyond counts nothing). */
export function approxSize(value: unknown, budget: { left: number } = { left: Infinity }): number {
  if (budget.left-- <= 0) return 0;
  if (typeof value === 'string') return value.length + 2;
  if (value instanceof Uint8Array) return value.byteLength + 3;
  if (Array.isArray(value)) {
    let n = 3;
    for (const v of value) n += approxSize(v, budget);
    return n;
  }
  if (typeof value === 'object' && value !== null) {
    let n = 3;
    for (const [k, v] of Object.entries(value)) n += k.length + 1 + approxSize(v, budget);
    return n;
  }
  return 9;
}
