/**
 * Which local subscribers want which topics, and the fan-out of ordered
 * messages to them. Exact topics are a map lookup; patterns live in a token
 * trie, so matching costs O(tokens), not O(patterns). A subscriber that holds
 * several matching subscriptions still gets each message once: the client
 * library routes it to every matching subscription.
 */
import type { DeliverySink } from './topic-table.js';
import type { HistoryEntry } from './history.js';

/** A local receiver of topic traffic (a client session). */
export interface Subscriber {
  /** Session id: unique per connection, the presence key. */
  readonly id: string;
  /** The client instance id shown to others. */
  readonly client: string;
  /** Queues an encoded wire message for this subscriber (coalesced by the session). */
  deliver(encoded: Uint8Array): void;
  /**
   * Queues a topic message, in the form this subscriber's protocol wants: `sid` is the topic's
   * subscription id here when the subscriber holds the topic itself, undefined when it matched
   * through a wildcard only. Without it, the v1 form goes to `deliver`.
   */
  deliverMessage?(entry: HistoryEntry, sid: number | undefined, conflate?: boolean): void;
  /** Queues a topic's presence change (`sid`: the topic's subscription id here), in order with its messages. */
  deliverPresence?(encoded: Uint8Array, sid: number | undefined): void;
  /** Gone: a subscribe still waiting for its topic must not register it. */
  readonly isClosed?: boolean;
}

export interface ExactSubscription {
  /** Receives join/leave events. */
  watchesPresence: boolean;
  /** Is in the topic's presence set (a leave must be ordered when it goes). */
  inPresence: boolean;
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  /** Subscribers whose pattern ends at this node. */
  readonly here = new Set<Subscriber>();
  /** Subscribers whose pattern has `>` at this level. */
  readonly rest = new Set<Subscriber>();

  get empty(): boolean {
    return this.children.size === 0 && this.here.size === 0 && this.rest.size === 0;
  }
}

/** Told when a topic gains its first or loses its last local exact subscriber. */
export interface PinListener {
  pin(topic: string): void;
  unpin(topic: string): void;
  /** The number of local wildcard subscriptions changed. */
  patterns?(count: number): void;
}

export class SubscriberIndex implements DeliverySink {
  /** Set by the owner (Topics) so the topic table knows which topics it may drop. */
  pins: PinListener = { pin() {}, unpin() {} };
  private readonly exact = new Map<string, Map<Subscriber, ExactSubscription>>();
  /**
   * Each topic with local exact subscribers has a subscription id, the same for all of them (so a
   * message is encoded once for all); a topic that loses its last one and comes back gets a new one.
   */
  private readonly sids = new Map<string, number>();
  private sidLast = 0;
  /** Which topics are conflated for slow subscribers (set by the server from its configuration). */
  conflates: (topic: string) => boolean = () => false;
  /** Topics with local exact subscribers that `conflates`: decided once, when the topic gets its sid. */
  private readonly conflated = new Set<string>();
  private readonly trie = new TrieNode();
  private patternCount = 0;
  /** Every subscription of every subscriber: topic or pattern → exact entry (undefined for a pattern). */
  private readonly bySubscriber = new Map<Subscriber, Map<string, ExactSubscription | undefined>>();
  /** Subscribers that get nothing more (muteAll), until dropped. */
  private readonly muted = new Set<Subscriber>();
  /** Messages handed to subscribers, for the metrics. */
  deliveredTotal = 0;

  /** Subscriptions held by `subscriber`, patterns included. */
  countFor(subscriber: Subscriber): number {
    return this.bySubscriber.get(subscriber)?.size ?? 0;
  }

  has(subscriber: Subscriber, topicOrPattern: string): boolean {
    return this.bySubscriber.get(subscriber)?.has(topicOrPattern) ?? false;
  }

  /** Local exact subscribers of `topic`. */
  subscriberCount(topic: string): number {
    return this.exact.get(topic)?.size ?? 0;
  }

  /** Subscriptions held by all local subscribers, patterns included. */
  subscriptionCount = 0;

  isPinned(topic: string): boolean {
    return this.exact.has(topic);
  }

  addExact(subscriber: Subscriber, topic: string, sub: ExactSubscription): void {
    let subs = this.exact.get(topic);
    if (subs === undefined) {
      this.exact.set(topic, (subs = new Map()));
      this.sids.set(topic, ++this.sidLast);
      if (this.conflates(topic)) this.conflated.add(topic);
      this.pins.pin(topic);
    }
    subs.set(subscriber, sub);
    this.mine(subscriber).set(topic, sub);
    this.subscriptionCount++;
  }

  addPattern(subscriber: Subscriber, pattern: string): void {
    let node = this.trie;
    const tokens = pattern.split('.');
    for (const token of tokens) {
      if (token === '>') {
        node.rest.add(subscriber);
        this.mine(subscriber).set(pattern, undefined);
        this.patternCount++;
        this.subscriptionCount++;
        this.pins.patterns?.(this.patternCount);
        return;
      }
      let next = node.children.get(token);
      if (next === undefined) node.children.set(token, (next = new TrieNode()));
      node = next;
    }
    node.here.add(subscriber);
    this.mine(subscriber).set(pattern, undefined);
    this.patternCount++;
    this.subscriptionCount++;
    this.pins.patterns?.(this.patternCount);
  }

  /** Removes one subscription; returns what it was (undefined entry for a pattern), or false if absent. */
  remove(subscriber: Subscriber, topicOrPattern: string): ExactSubscription | undefined | false {
    const mine = this.bySubscriber.get(subscriber);
    if (mine === undefined || !mine.has(topicOrPattern)) return false;
    const sub = mine.get(topicOrPattern);
    mine.delete(topicOrPattern);
    this.subscriptionCount--;
    if (mine.size === 0) this.bySubscriber.delete(subscriber);
    if (sub !== undefined) {
      const subs = this.exact.get(topicOrPattern)!;
      subs.delete(subscriber);
      if (subs.size === 0) {
        this.exact.delete(topicOrPattern);
        this.sids.delete(topicOrPattern);
        this.conflated.delete(topicOrPattern);
        this.pins.unpin(topicOrPattern);
      }
    } else {
      this.removePattern(subscriber, topicOrPattern);
    }
    return sub;
  }

  /** Every subscription of `subscriber`, for dropping a session. */
  subscriptionsOf(subscriber: Subscriber): Array<[string, ExactSubscription | undefined]> {
    return [...(this.bySubscriber.get(subscriber) ?? [])];
  }

  /** The subscription id of `topic` here (while it has local exact subscribers). */
  sidOf(topic: string): number | undefined {
    return this.sids.get(topic);
  }

  /**
   * Stops all traffic to every current subscriber until it is dropped: the copies it was served from
   * were taken back, and its session is being closed so that it resumes (a message from the copy
   * that replaced them must not reach it first). Later subscribers are served as usual.
   */
  muteAll(): void {
    for (const s of this.bySubscriber.keys()) this.muted.add(s);
  }

  /** A subscriber is gone: forget that it was muted. */
  forget(subscriber: Subscriber): void {
    this.muted.delete(subscriber);
  }

  message(topic: string, _seq: number, entry: HistoryEntry): void {
    const subs = this.exact.get(topic);
    // Almost always empty: the fan-out loop then checks nothing more per subscriber.
    const muted = this.muted.size > 0 ? this.muted : undefined;
    if (subs !== undefined) {
      const sid = this.sids.get(topic);
      const conflate = this.conflated.size > 0 && this.conflated.has(topic);
      for (const s of subs.keys()) if (muted?.has(s) !== true) deliverTo(s, entry, sid, conflate);
      this.deliveredTotal += subs.size;
    }
    // System topics (`$rooms`, `$sys`) reach exact subscriptions only: no wildcard receives them.
    if (this.patternCount === 0 || topic.charCodeAt(0) === 36 /* $ */) return;
    const matched = new Set<Subscriber>();
    this.match(this.trie, topic.split('.'), 0, matched);
    for (const s of matched) {
      if (subs?.has(s) === true) continue; // has the topic itself: delivered once, above
      if (muted?.has(s) === true) continue;
      deliverTo(s, entry, undefined, false);
      this.deliveredTotal++;
    }
  }

  presence(topic: string, encoded: Uint8Array): void {
    const subs = this.exact.get(topic);
    if (subs === undefined) return;
    const sid = this.sids.get(topic);
    for (const [s, sub] of subs) {
      if (!sub.watchesPresence || (this.muted.size > 0 && this.muted.has(s))) continue;
      if (s.deliverPresence !== undefined) s.deliverPresence(encoded, sid);
      else s.deliver(encoded);
    }
  }

  private match(node: TrieNode, tokens: string[], i: number, out: Set<Subscriber>): void {
    if (i === tokens.length) {
      for (const s of node.here) out.add(s);
      return;
    }
    for (const s of node.rest) out.add(s);
    const exact = node.children.get(tokens[i]!);
    if (exact !== undefined) this.match(exact, tokens, i + 1, out);
    const star = node.children.get('*');
    if (star !== undefined) this.match(star, tokens, i + 1, out);
  }

  private removePattern(subscriber: Subscriber, pattern: string): void {
    const path: TrieNode[] = [this.trie];
    const tokens = pattern.split('.');
    let node = this.trie;
    for (const token of tokens) {
      if (token === '>') {
        node.rest.delete(subscriber);
        break;
      }
      node = node.children.get(token)!;
      path.push(node);
    }
    if (tokens[tokens.length - 1] !== '>') node.here.delete(subscriber);
    this.patternCount--;
    this.pins.patterns?.(this.patternCount);
    // Prune empty nodes bottom-up so the trie does not grow without bound.
    for (let i = path.length - 1; i > 0; i--) {
      if (!path[i]!.empty) break;
      path[i - 1]!.children.delete(tokens[i - 1]!);
    }
  }

  private mine(subscriber: Subscriber): Map<string, ExactSubscription | undefined> {
    let mine = this.bySubscriber.get(subscriber);
    if (mine === undefined) this.bySubscriber.set(subscriber, (mine = new Map()));
    return mine;
  }
}

function deliverTo(s: Subscriber, entry: HistoryEntry, sid: number | undefined, conflate: boolean): void {
  if (s.deliverMessage !== undefined) s.deliverMessage(entry, sid, conflate);
  else s.deliver(entry.encoded);
}
