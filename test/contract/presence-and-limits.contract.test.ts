import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryPresenceStore } from '../../adapters/memory/presence-store.ts';
import { createMemoryRateLimiter } from '../../adapters/memory/rate-limiter.ts';
import { createRedisSessions } from '../../adapters/redis/sessions.ts';
import { createRedisRateLimiter } from '../../adapters/redis/rate-limiter.ts';
import { deleteUnder } from '../../adapters/redis/client.ts';
import { requireEngines } from '../support/engines.ts';
import { presenceContract, rateLimiterContract } from './presence.contract.ts';

const { NATTER_REDIS_URL } = await requireEngines('redis');
const redisFor = async () => {
  const redis = new Redis(NATTER_REDIS_URL);
  const prefix = `t-${randomUUID()}`;
  return {
    redis,
    prefix,
    close: async () => {
      await deleteUnder(redis, `${prefix}:`);
      redis.disconnect();
    },
  };
};

presenceContract('memory', async () => ({ store: createMemoryPresenceStore(), close: async () => {} }));
presenceContract('redis', async () => {
  const { redis, prefix, close } = await redisFor();
  return { store: createRedisSessions({ redis, prefix, gatewayId: 'gw-test' }), close };
});
rateLimiterContract('memory', async (clock) => ({ limiter: createMemoryRateLimiter(clock), close: async () => {} }));
rateLimiterContract('redis', async (clock) => {
  const { redis, prefix, close } = await redisFor();
  return { limiter: createRedisRateLimiter({ redis, prefix, clock }), close };
});
