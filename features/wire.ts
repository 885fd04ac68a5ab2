import type { FastifyInstance } from 'fastify';
import type { Config } from '../app/config.ts';
import type { KeyDirectory } from '../ports/key-directory.ts';
import type { Delivery } from '../ports/delivery.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { ReadModels } from '../ports/read-models.ts';
import type { Projector, Reactor } from '../ports/projector.ts';
import { erasureReactor } from './account/erasure.ts';
import { exportRoutes } from './account/export.ts';
import { wirePush, type PushStores } from './push/wire.ts';
import { wireMedia, type MediaStores } from './media/wire.ts';
import { wireKeys } from './keys/wire.ts';

/** What each profile provides for the features: the embedded profile's SQLite files, or the cluster's engines. */
export type FeatureStores = { push: PushStores; media: MediaStores; keys: KeyDirectory };

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/**
 * Every feature that is not a conversation command (push, media, keys), wired once from the stores
 * a profile gives. Both profiles call this, each role taking what it runs: a gateway the routes and
 * the content rules, a projector the projectors and the push reactor, a push worker the push sender.
 * A feature added here is in both profiles at once.
 */
export const wireFeatures = (
  config: Config,
  stores: FeatureStores,
  shared: {
    readModels: ReadModels;
    delivery: Delivery;
    limiter: RateLimiter;
    log: Log;
  },
) => {
  const push = wirePush(config.push, stores.push, shared);
  const media = wireMedia(config.media, stores.media, shared.readModels);
  const keys = wireKeys(config.keys, stores.keys, shared);
  return {
    push,
    routes: async (app: FastifyInstance) => {
      await app.register(push.routes);
      await app.register(media.routes);
      await app.register(keys.routes);
      await app.register(exportRoutes, { readModels: shared.readModels, push: stores.push.registry });
    },
    projectors: [media.projector] as Projector[],
    /** Reactions outside the push path (run after the read models, in the embedded process or a projector worker). */
    reactors: [erasureReactor({ keys: stores.keys, push: stores.push.registry })] as Reactor[],
    guard: media.guard,
  };
};
export type Features = ReturnType<typeof wireFeatures>;
