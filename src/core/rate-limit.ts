/**
 * A fixed-window counter per key, in memory: enough for login and per-IP limits on one node
 * (several nodes each apply their own limit, which only makes the limit looser by the node count).
 */
export class RateLimiter {
  private readonly hits = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts a hit; returns the seconds to wait when the key is over its limit, else 0. */
  hit(key: string): number {
    const now = this.clock();
    // Expired keys go when the map is large, at most once a second: a flood of fresh keys must not
    // turn every hit into a scan of the whole map.
    if (this.hits.size > 50000 && now - this.lastSweep >= 1000) {
      this.lastSweep = now;
      this.sweep(now);
    }
    const h = this.hits.get(key);
    if (!h || h.resetAt <= now) {
      this.hits.set(key, { count: 1, resetAt: now + this.windowMs });
      return 0;
    }
    h.count++;
    return h.count > this.max ? Math.ceil((h.resetAt - now) / 1000) : 0;
  }

  /** Seconds to wait if the key is already over its limit, without counting a hit. */
  check(key: string): number {
    const h = this.hits.get(key);
    const now = this.clock();
    if (!h || h.resetAt <= now || h.count < this.max) return 0;
    return Math.ceil((h.resetAt - now) / 1000);
  }

  /** Takes back one hit (an attempt that turned out to be legitimate). */
  undo(key: string): void {
    const h = this.hits.get(key);
    if (h && h.count > 0) h.count--;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private sweep(now: number) {
    for (const [k, v] of this.hits) if (v.resetAt <= now) this.hits.delete(k);
  }
}
