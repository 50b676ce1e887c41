/**
 * Per-connection rate limits by token bucket: publishes per second, inbound
 * bytes per second, and subscribes + unsubscribes per second, each with a
 * burst of one second's worth. A request over a limit is refused with
 * RateLimited (the client may retry later); a connection that keeps going
 * over them — more violations than its own bucket of patience allows — is
 * closed with the RateLimited close code.
 */
export interface RateLimits {
  /** Publishes per second (0: no limit). */
  publishesPerSecond: number;
  /** Inbound WebSocket bytes per second (0: no limit). */
  bytesPerSecond: number;
  /** Subscribes and unsubscribes per second (0: no limit). */
  subscribesPerSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  /** `rate` tokens a second, at most `burst` saved up; a rate of 0 never refuses. */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  take(n: number, now: number): boolean {
    if (this.rate === 0) return true;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** Violations tolerated in a burst, and how fast that patience comes back (per second). */
const patience = { burst: 20, perSecond: 2 };

export class ConnectionLimiter {
  private readonly publishes: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly subscribes: TokenBucket;
  /** Refreshes: each verifies a signature; a few a minute is plenty. */
  private readonly refreshes: TokenBucket;
  private readonly violations: TokenBucket;

  constructor(limits: RateLimits, now: number) {
    this.publishes = new TokenBucket(limits.publishesPerSecond, limits.publishesPerSecond, now);
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesPerSecond, now);
    this.subscribes = new TokenBucket(limits.subscribesPerSecond, limits.subscribesPerSecond, now);
    this.refreshes = new TokenBucket(1, 3, now);
    this.violations = new TokenBucket(patience.perSecond, patience.burst, now);
  }

  /** May a frame of `size` bytes be read now? */
  frame(size: number, now: number): boolean {
    return this.bytes.take(size, now);
  }

  /** May this request go ahead now? */
  request(type: string, now: number): boolean {
    if (type === 'pub') return this.publishes.take(1, now);
    if (type === 'sub' || type === 'unsub') return this.subscribes.take(1, now);
    if (type === 'refresh') return this.refreshes.take(1, now);
    return true;
  }

  /** Counts a refused request; false once patience is spent (the connection should be closed). */
  violated(now: number): boolean {
    return this.violations.take(1, now);
  }
}
