import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { FeatureStores } from '../../features/wire.ts';
import type { PostgresFeatures } from '../../adapters/postgres/features.ts';
import { createPostgresMediaStore } from '../../adapters/postgres/media-store.ts';
import { createPostgresKeyDirectory } from '../../adapters/postgres/key-directory.ts';
import { createRedisPushRegistry } from '../../adapters/redis/push-registry.ts';
import { createRedisPushWindows } from '../../adapters/redis/push-windows.ts';
import { createRedisSessions } from '../../adapters/redis/sessions.ts';
import { sessionLiveDevices } from '../../adapters/redis/live-devices.ts';
import { createFilesystemBlobStore } from '../../adapters/blob/filesystem.ts';
import { createS3BlobStore } from '../../adapters/blob/s3.ts';

/**
 * The cluster's stores for push, media and keys, shared by every process: push registrations,
 * windows and live sessions in Redis; media records and the key directory in PostgreSQL; media bytes
 * in S3 (NATTER_S3_BUCKET) or a directory all gateways share (NATTER_MEDIA_DIR).
 */
export const clusterFeatureStores = (config: Config, engines: { redis: Redis; prefix: string; postgres: PostgresFeatures }): FeatureStores => {
  const { redis, prefix, postgres } = engines;
  return {
    push: {
      registry: createRedisPushRegistry({ redis, prefix }),
      windows: createRedisPushWindows({ redis, prefix }),
      live: sessionLiveDevices(createRedisSessions({ redis, prefix, gatewayId: 'features' })),
    },
    media: {
      media: createPostgresMediaStore(postgres),
      blobs: config.media.s3 ? createS3BlobStore(config.media.s3) : createFilesystemBlobStore(config.media.dir),
    },
    keys: createPostgresKeyDirectory(postgres),
  };
};
