/**
 * A map kept in order of use, least recently used first: the topic table's idle topics (evicted
 * over `topicsMax`) and the publish-id table's clients (forgotten over `entriesMax`).
 *
 * A list linked through its nodes, with a `Map` from key to node. A `Map` kept in use order by
 * itself (delete and set again on every use) finds its oldest entry by stepping over every entry
 * deleted since it last rehashed — up to half its capacity: tens of microseconds an eviction at
 * 100,000 topics, and 20–160 µs a publish at a million clients (`node bench/idle-topics.mjs`,
 * `node bench/dedup.mjs`; bench/README.md). Here the oldest is the head, and a use moves one node.
 *
 * `set` keeps an entry's place, as `Map.set` does; `add` makes it the most recently used. Unlike a
 * `Map`, it must not be changed while `entries()` or `keys()` is being iterated.
 */

interface Node<K, V> {
  readonly key: K;
  value: V;
  prev: Node<K, V> | undefined;
  next: Node<K, V> | undefined;
}

export class RecencyMap<K, V> {
  private readonly nodes = new Map<K, Node<K, V>>();
  private head: Node<K, V> | undefined;
  private tail: Node<K, V> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  get(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Sets the value; a new key comes in as the most recently used, a known one keeps its place. */
  set(key: K, value: V): void {
    const node = this.nodes.get(key);
    if (node !== undefined) node.value = value;
    else this.append(key, value);
  }

  /** Sets the value and makes the key the most recently used. */
  add(key: K, value: V): void {
    const node = this.nodes.get(key);
    if (node === undefined) return this.append(key, value);
    node.value = value;
    this.moveToTail(node);
  }

  /** Makes `key` the most recently used if it is here; says whether it was. */
  touch(key: K): boolean {
    const node = this.nodes.get(key);
    if (node === undefined) return false;
    this.moveToTail(node);
    return true;
  }

  delete(key: K): boolean {
    const node = this.nodes.get(key);
    if (node === undefined) return false;
    this.nodes.delete(key);
    this.unlink(node);
    return true;
  }

  clear(): void {
    this.nodes.clear();
    this.head = undefined;
    this.tail = undefined;
  }

  /** The least recently used entry, if any. */
  oldest(): { key: K; value: V } | undefined {
    return this.head === undefined ? undefined : { key: this.head.key, value: this.head.value };
  }

  /** The entries, least recently used first. */
  *entries(): IterableIterator<[K, V]> {
    for (let node = this.head; node !== undefined; node = node.next) yield [node.key, node.value];
  }

  /** The keys, least recently used first. */
  *keys(): IterableIterator<K> {
    for (let node = this.head; node !== undefined; node = node.next) yield node.key;
  }

  private append(key: K, value: V): void {
    const node: Node<K, V> = { key, value, prev: undefined, next: undefined };
    this.nodes.set(key, node);
    this.link(node);
  }

  private moveToTail(node: Node<K, V>): void {
    if (node === this.tail) return;
    this.unlink(node);
    this.link(node);
  }

  private link(node: Node<K, V>): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
  }

  private unlink(node: Node<K, V>): void {
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }
}
