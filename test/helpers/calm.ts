/**
 * A calm client beside an attack: it publishes to its own topic every 20 ms
 * and subscribes to it, so a test can tell whether the broker kept serving
 * well-behaved clients — every seq once and in order, and no pause between
 * deliveries longer than a bound — while something hostile went on.
 */
import { expect } from 'vitest';
import { connect, type Client } from '../../client/index.js';
import { Condition } from './wait.js';

export class CalmStream {
  readonly seqs: number[] = [];
  /** Arrival times (performance.now()) of the deliveries. */
  readonly arrivals: number[] = [];
  readonly arrived = new Condition();
  private acknowledged = 0;
  private readonly failures: unknown[] = [];
  private timer: NodeJS.Timeout | undefined;
  private windowFrom = 0;

  private constructor(
    readonly client: Client,
    readonly topic: string,
  ) {}

  static async start(url: string, topic: string, token?: string): Promise<CalmStream> {
    const client = await connect(url, token === undefined ? {} : { token });
    const calm = new CalmStream(client, topic);
    await client.subscribe(topic, (m) => {
      calm.seqs.push(m.seq);
      calm.arrivals.push(performance.now());
      calm.arrived.notify();
    });
    calm.timer = setInterval(() => {
      client.publish(topic, calm.seqs.length).then(
        () => void calm.acknowledged++,
        (err: unknown) => void calm.failures.push(err),
      );
    }, 20);
    // A few deliveries first, so a pause is measured against a running stream.
    await calm.arrived.wait(() => calm.seqs.length >= 5, 10_000, 'the calm stream to start');
    return calm;
  }

  /** Starts a measured window (an attack begins). */
  mark(): void {
    this.windowFrom = this.arrivals.length;
  }

  /**
   * Ends the window: waits until the stream has moved on past what was acknowledged so far, then
   * checks it — seqs 1, 2, 3 … with none missing or repeated, no publish refused, and no pause
   * between deliveries over `pauseMaxMs` since `mark()`. Returns the longest pause.
   */
  async check(pauseMaxMs = 1000): Promise<number> {
    const target = this.acknowledged + 3;
    await this.arrived.wait(() => this.seqs.length >= target, 15_000, 'the calm stream to go on');
    expect(this.failures).toEqual([]);
    expect(this.seqs).toEqual(Array.from({ length: this.seqs.length }, (_, i) => i + 1));
    let longest = 0;
    for (let i = Math.max(1, this.windowFrom); i < this.arrivals.length; i++) longest = Math.max(longest, this.arrivals[i]! - this.arrivals[i - 1]!);
    expect(longest, 'longest pause of the calm stream (ms)').toBeLessThan(pauseMaxMs);
    return longest;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.close();
  }
}
