/**
 * Programmer errors inside the pure cores (broker/core, broker/node): a broken
 * invariant at a boundary between parts throws, and the runtime lets the
 * process stop (the group excludes it; Kubernetes restarts it) rather than go
 * on with state it cannot trust. Never for a peer's or a client's bad input,
 * which is validated, counted and dropped.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${why}`);
}

/**
 * The end of a `switch` over a union: the compiler proves every member handled (a new one added to
 * the union fails to build here). Reached at run time only by a value the validators let through
 * that the code does not know: a programmer error.
 */
export function unreachable(value: never, what: string): never {
  throw new InvariantError(`unhandled ${what}: ${JSON.stringify(value)}`);
}
