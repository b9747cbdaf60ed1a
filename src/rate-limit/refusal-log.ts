/** Entries kept at most; beyond, expired ones are dropped, and if that is not enough, all. */
const MAX_ENTRIES = 10_000;

/**
 * Remembers which keys were refused until their block ends, so that a flood of refused
 * requests writes one audit event per key and block (on each instance) instead of one per
 * request: refusals are cheap to send, database rows are not.
 */
export class RefusalLog {
  private readonly until = new Map<string, number>();

  /** True for the first refusal of `key` in a block of `blockMs`. */
  isFirst(key: string, blockMs: number, now = Date.now()): boolean {
    const until = this.until.get(key);
    if (until !== undefined && until > now) return false;
    if (this.until.size >= MAX_ENTRIES) this.evict(now);
    this.until.set(key, now + blockMs);
    return true;
  }

  private evict(now: number): void {
    for (const [key, until] of this.until) if (until <= now) this.until.delete(key);
    if (this.until.size >= MAX_ENTRIES) this.until.clear();
  }
}
