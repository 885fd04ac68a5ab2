import { join } from 'node:path';
import type { Config } from './config.ts';
import { openDatabase } from '../adapters/sqlite/database.ts';
import { createSqlitePushRegistry } from '../adapters/sqlite/push-registry.ts';
import { createSqliteKeyDirectory } from '../adapters/sqlite/key-directory.ts';
import { createSqliteMediaStore } from '../adapters/sqlite/media-store.ts';
import { createFilesystemBlobStore } from '../adapters/blob/filesystem.ts';
import { createS3BlobStore } from '../adapters/blob/s3.ts';
import { createMemoryPushWindows } from '../adapters/memory/push-windows.ts';
import { createSqliteContentKeyStore } from '../adapters/sqlite/content-keys.ts';
import { createContentCipher } from '../adapters/crypto/content-cipher.ts';
import { plaintextCipher } from '../adapters/crypto/plaintext-cipher.ts';
import type { LiveDevices } from '../ports/push.ts';
import type { FeatureStores } from '../features/wire.ts';

export const featurePaths = (dataDir: string) => ({ devices: join(dataDir, 'devices.db'), media: join(dataDir, 'media.db'), keys: join(dataDir, 'keys.db') });

/**
 * The embedded profile's stores for push, media and keys: SQLite files of their own, committed with
 * synchronous=FULL (push registrations, uploads and keys are not in the event log), media bytes in
 * the data directory or S3, push windows in memory.
 */
export const openEmbeddedFeatureStores = (config: Config, live: LiveDevices): FeatureStores & { close(): void } => {
  const paths = featurePaths(config.dataDir);
  const devicesDb = openDatabase(paths.devices, 'FULL');
  const mediaDb = openDatabase(paths.media, 'FULL');
  return {
    push: { registry: createSqlitePushRegistry(devicesDb), windows: createMemoryPushWindows(), live },
    media: {
      media: createSqliteMediaStore(mediaDb),
      blobs: config.media.s3 ? createS3BlobStore(config.media.s3) : createFilesystemBlobStore(config.media.dir),
    },
    keys: createSqliteKeyDirectory(devicesDb),
    close: () => {
      devicesDb.close();
      mediaDb.close();
    },
  };
};

/**
 * The data keys of message content (keys.db, synchronous=FULL, secure_delete on) and the cipher that
 * seals and opens content with them, wrapped by the configured master key.
 */
export const openEmbeddedContent = (config: Config) => {
  const db = openDatabase(featurePaths(config.dataDir).keys, 'FULL');
  const store = createSqliteContentKeyStore(db);
  if (!config.content.encryption) return { store, cipher: plaintextCipher, close: () => store.close() };
  const cipher = createContentCipher({ store, masterKey: config.content.masterKey, cacheSize: config.content.keyCacheSize });
  return {
    store,
    cipher,
    /** Erasure's second step: destroy the user's data keys. Absent without encryption (nothing to shred). */
    shred: async (userId: string) => {
      await store.destroyOwner(userId);
      cipher.forget(userId);
    },
    close: () => store.close(),
  };
};
