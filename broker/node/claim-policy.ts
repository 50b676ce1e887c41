/**
 * Owners that follow traffic. The view places a group's owners by rendezvous hashing, wherever
 * its traffic is: a publisher on one broker and its subscribers on another then pay for a third
 * copy at an owner that serves neither (it receives and applies every payload), where the
 * subscribers' broker keeps a copy of their topic anyway. A broker where at least half of a group's
 * traffic is lately taken (its clients' publishes) or delivered (topics its clients subscribe
 * to) *claims* the group: claims come first among its owners (lightweight-groups/table.ts), so
 * it holds the whole group, and the owner it displaced lets its copy go once every owner is
 * ready — the usual hand-over of a view change, with the same rules (never the last copy).
 *
 * Each broker counts, per group, the bytes of topic commands delivered (as the core's `sizeOf`
 * counts them: a stub says how many bytes of payload it stands for, not how many commands, and
 * every broker must weigh every multicast alike) and its own share of them (all of a multicast
 * taken here; of another, its commands whose topics are subscribed here), and looks every
 * `lookMs`: with at least `bytesMin` since its last look and at least `shareMin` of them its own,
 * not claiming and fewer than R claims standing, it claims. It withdraws after `releaseLooks`
 * busy looks in a row (at least `bytesMin`; a quiet look neither counts nor resets) under
 * `releaseShare` of them its own. A quiet group keeps its owners (moving state buys nothing
 * there), and claims outlive views, so a view change does not move a group back and forth.
 * What a claim costs is one load of the group's state; `bytesMin` keeps that for groups busy
 * enough for the copy it saves to matter.
 */

/** When a broker claims a group (the defaults are the product's; the simulator claims sooner). */
export interface ClaimSettings {
  /** How often the broker looks, ms. */
  lookMs: number;
  /** Bytes of the group's topic commands since the last look, at least. */
  bytesMin: number;
  /** This broker's share of them to claim, at least. */
  shareMin: number;
  /** Its share under which a look counts towards withdrawing. */
  releaseShare: number;
  /** Looks in a row under `releaseShare` before it withdraws. */
  releaseLooks: number;
}

export const claimDefaults: ClaimSettings = { lookMs: 1000, bytesMin: 65_536, shareMin: 0.5, releaseShare: 0.2, releaseLooks: 10 };

/** What the policy needs of the broker's table: the claims standing per group, R, and which groups wait for a copy. */
export interface ClaimTable {
  readonly config: { replicas: number };
  claims(lwg: number): readonly string[];
  waiting(lwg: number): unknown;
}

export class ClaimPolicy {
  /** Per group since the last look: bytes of topic commands delivered, and how many of them were this broker's. */
  private readonly seen = new Map<number, { all: number; own: number }>();
  /** Per claimed group, looks in a row under `releaseShare`. */
  private readonly low = new Map<number, number>();
  private lookedAt = -Infinity;
  /** Claims and withdrawals said (for the cluster view and the tests). */
  claimedTotal = 0;
  unclaimedTotal = 0;
  private readonly settings: ClaimSettings;

  constructor(settings: Partial<ClaimSettings> = {}) {
    this.settings = { ...claimDefaults, ...settings };
    const { shareMin, releaseShare, releaseLooks, bytesMin, lookMs } = this.settings;
    if (!(shareMin > 0 && shareMin <= 1)) throw new Error(`claim shareMin must be in (0, 1], got ${shareMin}`);
    if (!(releaseShare >= 0 && releaseShare < shareMin)) throw new Error(`claim releaseShare must be in [0, shareMin), got ${releaseShare}`);
    if (!(Number.isSafeInteger(releaseLooks) && releaseLooks >= 1 && bytesMin >= 1 && lookMs > 0)) throw new Error('claim releaseLooks, bytesMin and lookMs must be positive');
  }

  /**
   * A multicast of topic commands on group `lwg` delivered here (a stub too): its `bytes`, and `own`
   * of them this broker's (taken here, or of commands whose topics are subscribed here).
   */
  delivered(lwg: number, bytes: number, own: number): void {
    let s = this.seen.get(lwg);
    if (s === undefined) this.seen.set(lwg, (s = { all: 0, own: 0 }));
    s.all += bytes;
    s.own += own;
  }

  /** Looks, once every `lookMs`: the claims and withdrawals `me` should say now. */
  look(now: number, me: string | undefined, table: ClaimTable): Array<{ op: 'claim' | 'unclaim'; lwg: number }> {
    if (now - this.lookedAt < this.settings.lookMs) return [];
    this.lookedAt = now;
    const out: Array<{ op: 'claim' | 'unclaim'; lwg: number }> = [];
    const { bytesMin, shareMin, releaseShare, releaseLooks } = this.settings;
    if (me !== undefined) {
      for (const [lwg, { all, own }] of this.seen) {
        if (all < bytesMin || table.waiting(lwg) !== undefined) continue;
        const claims = table.claims(lwg);
        if (!claims.includes(me)) {
          this.low.delete(lwg);
          if (own >= all * shareMin && claims.length < table.config.replicas) {
            out.push({ op: 'claim', lwg });
            this.claimedTotal++;
          }
        } else if (own < all * releaseShare) {
          const looks = (this.low.get(lwg) ?? 0) + 1;
          if (looks < releaseLooks) this.low.set(lwg, looks);
          else {
            this.low.delete(lwg);
            out.push({ op: 'unclaim', lwg });
            this.unclaimedTotal++;
          }
        } else this.low.delete(lwg);
      }
    }
    this.seen.clear();
    return out;
  }

  /** A new incarnation: its claims went with the old one. */
  reset(): void {
    this.seen.clear();
    this.low.clear();
  }
}
