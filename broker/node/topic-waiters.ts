/**
 * Subscribes (and topic reads) waiting for this broker to keep a topic, by
 * topic name (`*`: every group, for a wildcard), each with a deadline.
 */
import type { Failure } from '../topics/index.js';

type Ready = (failure?: Failure) => void;

export class TopicWaiters {
  private readonly byName = new Map<string, Array<{ ready: Ready; until: number }>>();

  add(name: string, ready: Ready, until: number): void {
    let list = this.byName.get(name);
    if (list === undefined) this.byName.set(name, (list = []));
    list.push({ ready, until });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Calls every waiter of `name` (with `failure`, if any); returns whether there were any. */
  resolve(name: string, failure?: Failure): boolean {
    const list = this.byName.get(name);
    this.byName.delete(name);
    for (const w of list ?? []) w.ready(failure);
    return list !== undefined;
  }

  /** Answers the waiters whose deadline passed with `failure(name)`; returns the names nobody waits for any more. */
  expire(now: number, failure: (name: string) => Failure): string[] {
    const emptied: string[] = [];
    for (const [name, list] of [...this.byName]) {
      const late = list.filter((w) => w.until <= now);
      if (late.length === 0) continue;
      const rest = list.filter((w) => w.until > now);
      if (rest.length > 0) this.byName.set(name, rest);
      else {
        this.byName.delete(name);
        emptied.push(name);
      }
      for (const w of late) w.ready(failure(name));
    }
    return emptied;
  }

  failAll(failure: Failure): void {
    for (const name of this.names()) this.resolve(name, failure);
  }
}
