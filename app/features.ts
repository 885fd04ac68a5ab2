import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { openDatabase } from '../adapters/sqlite/database.ts';
import { createSqlitePushRegistry } from '../adapters/sqlite/push-registry.ts';
import { createSqliteKeyDirectory } from '../adapters/sqlite/key-directory.ts';
import { createSqliteMediaStore } from '../adapters/sqlite/media-store.ts';
import { createFilesystemBlobStore } from '../adapters/blob/filesystem.ts';
import { createS3BlobStore } from '../adapters/blob/s3.ts';
import { createMemoryPushWindows } from '../adapters/memory/push-windows.ts';
import { createConfiguredPushDispatcher } from './push-providers.ts';
import { pushReactor } from '../projections/push/reactor.ts';
import { mediaSharesProjector } from '../projections/media/projector.ts';
import { pushRoutes } from '../command-side/http/push-routes.ts';
import { mediaRoutes } from '../command-side/http/media-routes.ts';
import { keyRoutes } from '../command-side/http/key-routes.ts';
import { guardContent } from '../command-side/content-guards.ts';
import type { Commands } from '../command-side/commands.ts';
import type { Projector, Reactor } from '../projections/runtime.ts';
import type { ReadModels } from '../ports/read-models.ts';
import type { Delivery } from '../ports/delivery.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { LiveDevices } from '../ports/push.ts';
import type { BlobStore } from '../ports/blob-store.ts';

export const featurePaths = (dataDir: string) => ({ devices: join(dataDir, 'devices.db'), media: join(dataDir, 'media.db') });

/**
 * Offline push, media and the key directory for the embedded profile: their stores (SQLite files of
 * their own, committed with synchronous=FULL, since push registrations, uploads and keys are not in
 * the event log), the media-shares projector, the push reactor, the content rules of media and
 * ciphertext sends, and the REST routes.
 */
export const createEmbeddedFeatures = (config: Config, deps: {
  logger: Logger; readModels: ReadModels; delivery: Delivery; live: LiveDevices; limiter: RateLimiter;
}) => {
  const paths = featurePaths(config.dataDir);
  const devicesDb = openDatabase(paths.devices, 'FULL');
  const mediaDb = openDatabase(paths.media, 'FULL');
  const pushRegistry = createSqlitePushRegistry(devicesDb);
  const keys = createSqliteKeyDirectory(devicesDb);
  const media = createSqliteMediaStore(mediaDb);
  const blobs: BlobStore = config.media.s3 ? createS3BlobStore(config.media.s3) : createFilesystemBlobStore(config.media.dir);

  const push = config.push;
  const log = deps.logger.child({ component: 'push' });
  const dispatcher = createConfiguredPushDispatcher(push, pushRegistry, log);
  const reactor = pushReactor({
    directory: deps.readModels.directory, inbox: deps.readModels.inbox, live: deps.live, registry: pushRegistry, windows: createMemoryPushWindows(),
    send: dispatcher.enqueue, collapseMs: push.collapseMs, includeContent: push.includeContent, maxAgeMs: push.maxAgeMs, log,
  });

  const routes = async (app: FastifyInstance) => {
    await app.register(pushRoutes, { registry: pushRegistry, webPushAllowedHosts: push.webpush?.allowedHosts });
    await app.register(mediaRoutes, { blobs, media, directory: deps.readModels.directory, maxBytes: config.media.maxBytes });
    await app.register(keyRoutes, {
      keys, delivery: deps.delivery, lowThreshold: config.keys.prekeysLowThreshold, limiter: deps.limiter,
      claimLimit: { capacity: config.keys.claimsPerMinute, perSecond: config.keys.claimsPerMinute / 60 },
    });
  };

  return {
    projectors: [mediaSharesProjector(media)] as Projector[],
    reactors: [reactor] as Reactor[],
    guard: (commands: Commands) => guardContent(commands, { media }),
    routes,
    pushRegistry, keys, media, blobs, dispatcher,
    close: async () => {
      reactor.stop();
      await dispatcher.stop();
      devicesDb.close();
      mediaDb.close();
    },
  };
};
export type EmbeddedFeatures = ReturnType<typeof createEmbeddedFeatures>;
