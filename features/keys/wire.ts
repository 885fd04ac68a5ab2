import type { FastifyInstance } from 'fastify';
import type { Config } from '../../app/config.ts';
import type { KeyDirectory } from '../../ports/key-directory.ts';
import type { Delivery } from '../../ports/delivery.ts';
import type { RateLimiter } from '../../ports/rate-limiter.ts';
import { keyRoutes } from './routes.ts';

/**
 * The end-to-end encryption key directory, from the directory a profile gives it (SQLite embedded,
 * PostgreSQL in the cluster): its routes, with `prekeys_low` frames going out through `delivery`.
 */
export const wireKeys = (config: Config['keys'], keys: KeyDirectory, shared: { delivery: Delivery; limiter: RateLimiter }) => ({
  routes: async (app: FastifyInstance) => {
    await app.register(keyRoutes, {
      keys,
      delivery: shared.delivery,
      lowThreshold: config.prekeysLowThreshold,
      limiter: shared.limiter,
      claimLimit: { capacity: config.claimsPerMinute, perSecond: config.claimsPerMinute / 60 },
    });
  },
});
