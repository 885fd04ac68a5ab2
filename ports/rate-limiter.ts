/** A token bucket: `capacity` tokens, refilled continuously at `perSecond`. */
export type RateLimit = { capacity: number; perSecond: number };

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/** One bucket of a `takeAll`: `cost` tokens (1 by default) from `key`. */
export type RateTake = { key: string; limit: RateLimit; cost?: number };

/**
 * Shared limits (per user, across their devices and gateways). Embedded: memory; cluster: Redis,
 * so a user cannot multiply their budget by spreading devices over gateways.
 */
export interface RateLimiter {
  take(key: string, limit: RateLimit, cost?: number): Promise<RateDecision>;
  /**
   * All or none, in one step (one round trip in the cluster): either every bucket has its tokens and
   * all are taken, or none is, and `failed` is the index of the first bucket that was short.
   */
  takeAll(takes: readonly RateTake[]): Promise<{ ok: true } | { ok: false; retryAfterMs: number; failed: number }>;
}
