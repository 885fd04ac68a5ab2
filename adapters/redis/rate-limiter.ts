import type { Redis } from 'ioredis';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import { createMemoryRateLimiter } from '../memory/rate-limiter.ts';
import { ifAnswered } from './client.ts';
import { namespace } from './keys.ts';

// A token bucket in one hash, refilled lazily from the time passed in (the caller's clock, so that
// every gateway computes the same refill). Answers 0 when allowed, else the milliseconds to wait.
const TAKE = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) / per_ms) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
return wait`;

/**
 * Shared limits for the cluster: a user's budget is one, whichever gateways their devices use.
 *
 * While Redis is unreachable (restarting, or slower than `timeoutMs`), the buckets are kept in this
 * process instead: sends, which need only the event store, go on being accepted, and a user's budget
 * is at most one per gateway until Redis answers again. Waiting for Redis would hold every send for
 * the whole outage, and refusing would turn a cache outage into a write outage.
 */
export const createRedisRateLimiter = (options: { redis: Redis; prefix: string; clock?: () => number; timeoutMs?: number }): RateLimiter => {
  const { redis, timeoutMs = 500 } = options;
  const clock = options.clock ?? Date.now;
  const base = `${namespace(options.prefix)}rate:`;
  redis.defineCommand('natterRateTake', { numberOfKeys: 1, lua: TAKE });
  const take = (redis as unknown as { natterRateTake(key: string, c: number, p: number, now: number, cost: number): Promise<number> }).natterRateTake.bind(
    redis,
  );
  const local = createMemoryRateLimiter(clock);
  let swept = clock();
  return {
    async take(key, limit, cost = 1) {
      const wait = await ifAnswered(redis, () => take(`${base}${key}`, limit.capacity, limit.perSecond, clock(), cost), timeoutMs);
      if (wait === undefined) {
        if (clock() - swept > 60_000) {
          local.sweep();
          swept = clock();
        }
        return local.take(key, limit, cost);
      }
      return Number(wait) === 0 ? { ok: true } : { ok: false, retryAfterMs: Number(wait) };
    },
  };
};
