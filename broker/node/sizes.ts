/**
 * About how many bytes a value takes on a link (msgpack-like sizes, without encoding it): the
 * figures operators read (the core's unstable bytes, the bytes of state transfers), the mesh's
 * batches (mesh-stream.ts), and the bound on requests a new sequencer keeps (the core's
 * `sizeOf`, takeovers.ts). A publish is counted by its encoded payload, exactly, however large.
 */

/**
 * A payload of the core group: each topic command's size (`commandSize`), summed for a batch
 * (mesh-stream.ts); stubs count nothing. Counted when a message is held and again when it is
 * freed: the same answer twice.
 */
export function payloadSize(payload: unknown): number {
  if (payload === null || payload === undefined) return 0;
  const { command, commands } = payload as { command?: unknown; commands?: unknown };
  if (Array.isArray(commands)) return commands.reduce((n: number, c) => n + commandSize(c), 0);
  return command === undefined ? 64 : commandSize(command);
}

/**
 * A topic command's size: a fixed part, its topic, and its payload. A publish carries its payload
 * encoded (`encoded`), counted exactly — twice when the decoded value travels beside it (a state
 * or a patch: mesh-stream.ts `stampedCommand`), which is about what that costs. A command without
 * it (a presence change) has its `data` walked, at most `values` values, so that a large document
 * costs no more than a small one to count.
 */
export function commandSize(command: unknown, values = 64): number {
  const c = command as { topic?: unknown; data?: unknown; encoded?: unknown } | null;
  const topic = typeof c?.topic === 'string' ? c.topic.length + 2 : 0;
  const encoded = c?.encoded;
  if (encoded instanceof Uint8Array) return 64 + topic + (encoded.byteLength + 3) * (c?.data === undefined ? 1 : 2);
  return 64 + topic + approxSize(c?.data, { left: values });
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
