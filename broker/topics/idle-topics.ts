/**
 * The topics without local subscribers, least recently used first: the candidates for eviction
 * when the table is over `topicsMax`.
 *
 * A list linked through its nodes, with a map from name to node. A `Map` kept in use order (delete
 * and set again on every use) finds its oldest entry by stepping over every entry deleted since it
 * last rehashed: at 100,000 topics that grew to tens of microseconds an eviction, so a table
 * churning topics at its limit paid it on every new topic (`node bench/idle-topics.mjs`). Here the
 * oldest is the head, and a use moves one node.
 */

interface Node<T> {
  readonly name: string;
  readonly value: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
}

export class IdleTopics<T> {
  private readonly nodes = new Map<string, Node<T>>();
  private head: Node<T> | undefined;
  private tail: Node<T> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  /** Adds `name` as the most recently used, or makes it so if it is here already. */
  add(name: string, value: T): void {
    const node = this.nodes.get(name);
    if (node !== undefined && node.value === value) return this.moveToTail(node);
    if (node !== undefined) this.unlink(node);
    const added: Node<T> = { name, value, prev: undefined, next: undefined };
    this.nodes.set(name, added);
    this.link(added);
  }

  /** Makes `name` the most recently used if it is here; says whether it was. */
  touch(name: string): boolean {
    const node = this.nodes.get(name);
    if (node === undefined) return false;
    this.moveToTail(node);
    return true;
  }

  delete(name: string): boolean {
    const node = this.nodes.get(name);
    if (node === undefined) return false;
    this.nodes.delete(name);
    this.unlink(node);
    return true;
  }

  clear(): void {
    this.nodes.clear();
    this.head = undefined;
    this.tail = undefined;
  }

  /** The least recently used, if any. */
  oldest(): { name: string; value: T } | undefined {
    return this.head;
  }

  /** Names, least recently used first (for tests and inspection). */
  *names(): IterableIterator<string> {
    for (let node = this.head; node !== undefined; node = node.next) yield node.name;
  }

  private moveToTail(node: Node<T>): void {
    if (node === this.tail) return;
    this.unlink(node);
    this.link(node);
  }

  private link(node: Node<T>): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
  }

  private unlink(node: Node<T>): void {
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }
}
