/** Reconnect delays: exponential, capped, with "equal jitter" so a crowd of clients spreads out. */
export interface ReconnectOptions {
  /** Reconnect at all. Default true. */
  enabled?: boolean;
  /** First delay, ms. Default 100. */
  delayMinMs?: number;
  /** Largest delay, ms. Default 5000. */
  delayMaxMs?: number;
}

export function backoffDelayMs(attempt: number, options: ReconnectOptions, random: () => number = Math.random): number {
  const min = options.delayMinMs ?? 100;
  const max = options.delayMaxMs ?? 5000;
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}
