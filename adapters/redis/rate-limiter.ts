import type { Redis } from 'ioredis';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import { createMemoryRateLimiter } from '../memory/rate-limiter.ts';
import { ifAnswered } from './client.ts';
import { namespace } from './keys.ts';

// Token buckets, each in one hash, refilled lazily from the time passed in (the caller's clock, so
// that every gateway computes the same refill). All or none: when a bucket is short, nothing is
// written. ARGV: now, then capacity, per second and cost for each key. Answers {0, 0} when allowed,
// else {the 1-based index of the first short bucket, the milliseconds to wait}.
const TAKE_ALL = `
local now = tonumber(ARGV[1])
local left = {}
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[i * 3 - 1])
  local per_ms = tonumber(ARGV[i * 3]) / 1000
  local cost = tonumber(ARGV[i * 3 + 1])
  local bucket = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(bucket[1]) or capacity
  local at = tonumber(bucket[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
  if tokens < cost then return {i, math.ceil((cost - tokens) / per_ms)} end
  left[i] = {tokens - cost, math.ceil(capacity / per_ms) + 1000}
end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'tokens', tostring(left[i][1]), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], left[i][2])
end
return {0, 0}`;

type TakeAll = (keys: number, ...args: Array<string | number>) => Promise<[number, number]>;

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
  redis.defineCommand('natterRateTakeAll', { lua: TAKE_ALL });
  const script = (redis as unknown as { natterRateTakeAll: TakeAll }).natterRateTakeAll.bind(redis);
  const local = createMemoryRateLimiter(clock);
  let swept = clock();
  const limiter: RateLimiter = {
    async take(key, limit, cost = 1) {
      const decision = await limiter.takeAll([{ key, limit, cost }]);
      return decision.ok ? decision : { ok: false, retryAfterMs: decision.retryAfterMs };
    },
    async takeAll(takes) {
      const args = takes.flatMap(({ limit, cost = 1 }) => [limit.capacity, limit.perSecond, cost]);
      const answer = await ifAnswered(redis, () => script(takes.length, ...takes.map((t) => `${base}${t.key}`), clock(), ...args), timeoutMs);
      if (answer === undefined) {
        if (clock() - swept > 60_000) {
          local.sweep();
          swept = clock();
        }
        return local.takeAll(takes);
      }
      const [short, wait] = answer.map(Number) as [number, number];
      return short === 0 ? { ok: true } : { ok: false, retryAfterMs: wait, failed: short - 1 };
    },
  };
  return limiter;
};
