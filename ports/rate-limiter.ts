/** A token bucket: `capacity` tokens, refilled continuously at `perSecond`. */
export type RateLimit = { capacity: number; perSecond: number };

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Shared limits (per user, across their devices and gateways). Embedded: memory; cluster: Redis,
 * so a user cannot multiply their budget by spreading devices over gateways.
 */
export interface RateLimiter {
  take(key: string, limit: RateLimit, cost?: number): Promise<RateDecision>;
}
