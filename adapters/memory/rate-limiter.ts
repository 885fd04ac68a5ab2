import type { RateDecision, RateLimit, RateLimiter } from '../../ports/rate-limiter.ts';

type Bucket = { tokens: number; at: number };

/** In-process token buckets; full buckets are dropped by a sweep so idle users cost nothing. */
export const createMemoryRateLimiter = (clock: () => number = Date.now): RateLimiter & { sweep(): void } => {
  const buckets = new Map<string, Bucket & { limit: RateLimit }>();
  return {
    async take(key, limit, cost = 1): Promise<RateDecision> {
      const now = clock();
      const bucket = buckets.get(key) ?? { tokens: limit.capacity, at: now, limit };
      bucket.tokens = Math.min(limit.capacity, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
      bucket.at = now;
      buckets.set(key, bucket);
      if (bucket.tokens >= cost) {
        bucket.tokens -= cost;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil(((cost - bucket.tokens) / limit.perSecond) * 1000) };
    },
    sweep() {
      const now = clock();
      for (const [key, b] of buckets) {
        if (b.tokens + ((now - b.at) / 1000) * b.limit.perSecond >= b.limit.capacity) buckets.delete(key);
      }
    },
  };
};
