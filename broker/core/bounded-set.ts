/**
 * A set that forgets its oldest members past `sizeMax` (for de-duplication windows).
 *
 * The oldest is kept in an array of its own, in insertion order: finding it as the Set's first
 * member would step over every member deleted since the Set last rehashed — up to half its
 * capacity, tens of microseconds per add once the set is full.
 */
export class BoundedSet<T> {
  private readonly items = new Set<T>();
  private order: T[] = [];
  private head = 0;

  constructor(readonly sizeMax: number) {}

  has(item: T): boolean {
    return this.items.has(item);
  }

  add(item: T): void {
    if (this.items.has(item)) return;
    this.items.add(item);
    this.order.push(item);
    if (this.items.size > this.sizeMax) {
      this.items.delete(this.order[this.head]!);
      this.order[this.head++] = undefined as T;
      if (this.head > 1024 && this.head * 2 > this.order.length) {
        this.order = this.order.slice(this.head);
        this.head = 0;
      }
    }
  }

  get size(): number {
    return this.items.size;
  }
}
