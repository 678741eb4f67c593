// A token bucket per source address and one for all (enrollment): a burst, then a steady pace; bounded memory (pure).

export interface RateLimits {
  /** Per address: requests in a burst, and one more every perMs. */
  burst: number;
  perMs: number;
  /** All addresses together. */
  globalBurst: number;
  globalPerMs: number;
  /** Addresses remembered at most (the oldest forgotten first). */
  maxAddresses: number;
}

export const ENROLL_LIMITS: RateLimits = { burst: 5, perMs: 12_000, globalBurst: 30, globalPerMs: 1000, maxAddresses: 10_000 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private global: Bucket;

  constructor(private readonly l: RateLimits, now: number) {
    this.global = { tokens: l.globalBurst, at: now };
  }

  /** Takes a token for `address` at `now`: 0 when allowed, else the ms until the next one. */
  take(address: string, now: number): number {
    const refill = (b: Bucket, burst: number, perMs: number): Bucket => ({ tokens: Math.min(burst, b.tokens + (now - b.at) / perMs), at: now });
    const mine = refill(this.buckets.get(address) ?? { tokens: this.l.burst, at: now }, this.l.burst, this.l.perMs);
    this.global = refill(this.global, this.l.globalBurst, this.l.globalPerMs);
    this.buckets.delete(address);
    this.buckets.set(address, mine);
    if (this.buckets.size > this.l.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
    if (mine.tokens < 1) return Math.ceil((1 - mine.tokens) * this.l.perMs);
    if (this.global.tokens < 1) return Math.ceil((1 - this.global.tokens) * this.l.globalPerMs);
    mine.tokens -= 1;
    this.global.tokens -= 1;
    return 0;
  }
}
