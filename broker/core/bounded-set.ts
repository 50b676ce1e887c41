/** A set that forgets its oldest members past `sizeMax` (for de-duplication windows). */
export class BoundedSet<T> {
  private readonly items = new Set<T>();

  constructor(readonly sizeMax: number) {}

  has(item: T): boolean {
    return this.items.has(item);
  }

  add(item: T): void {
    if (this.items.has(item)) return;
    this.items.add(item);
    if (this.items.size > this.sizeMax) this.items.delete(this.items.values().next().value as T);
  }

  get size(): number {
    return this.items.size;
  }
}
