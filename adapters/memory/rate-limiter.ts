import type { RateLimit, RateLimiter } from '../../ports/rate-limiter.ts';

type Bucket = { tokens: number; at: number };

/** In-process token buckets; full buckets are dropped by a sweep so idle users cost nothing. */
export const createMemoryRateLimiter = (clock: () => number = Date.now): RateLimiter & { sweep(): void } => {
  const buckets = new Map<string, Bucket & { limit: RateLimit }>();
  const limiter: RateLimiter & { sweep(): void } = {
    async take(key, limit, cost = 1) {
      const decision = await limiter.takeAll([{ key, limit, cost }]);
      return decision.ok ? decision : { ok: false, retryAfterMs: decision.retryAfterMs };
    },
    async takeAll(takes) {
      const now = clock();
      const filled = takes.map(({ key, limit }) => {
        const bucket = buckets.get(key);
        return bucket ? Math.min(limit.capacity, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond) : limit.capacity;
      });
      for (const [i, { limit, cost = 1 }] of takes.entries()) {
        const tokens = filled[i]!;
        if (tokens < cost) return { ok: false, retryAfterMs: Math.ceil(((cost - tokens) / limit.perSecond) * 1000), failed: i };
      }
      for (const [i, { key, limit, cost = 1 }] of takes.entries()) buckets.set(key, { tokens: filled[i]! - cost, at: now, limit });
      return { ok: true };
    },
    sweep() {
      const now = clock();
      for (const [key, b] of buckets) {
        if (b.tokens + ((now - b.at) / 1000) * b.limit.perSecond >= b.limit.capacity) buckets.delete(key);
      }
    },
  };
  return limiter;
};
