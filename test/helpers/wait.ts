/** Waiting for events with a bound, never sleeping. */

/** Resolves when `check()` holds; `check` is re-run whenever `notify()` of the returned handle is called. */
export class Condition {
  private waiters: Array<{ check: () => boolean; resolve: () => void }> = [];

  /** Call after anything that may have made a waited-for condition true. */
  notify(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  wait(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ check, resolve: done });
    });
  }
}

/** Rejects if `promise` does not settle within `timeoutMs`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    }),
  ]);
}

/** The next `event` emitted by an emitter with `on` returning an unsubscribe function. */
export function nextEvent<T>(emitter: { on(event: string, listener: (value: T) => void): () => void }, event: string, timeoutMs: number): Promise<T> {
  let off: () => void = () => {};
  return within(
    new Promise<T>((resolve) => {
      off = emitter.on(event, (value) => {
        off();
        resolve(value);
      });
    }),
    timeoutMs,
    `event ${event}`,
  ).finally(() => off());
}

/**
 * Waits for a condition only an outside system can report and will not push (Prometheus's
 * scrape results): asks it again every `everyMs` until it holds, at most `timeoutMs`.
 */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
