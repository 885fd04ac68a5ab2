import type { Config } from '../config.ts';
import type { Metrics } from '../../ports/metrics.ts';
import type { PostgresFeatures } from '../../adapters/postgres/features.ts';
import { createPostgresContentKeyStore } from '../../adapters/postgres/content-keys.ts';
import { createContentCipher } from '../../adapters/crypto/content-cipher.ts';
import { plaintextCipher } from '../../adapters/crypto/plaintext-cipher.ts';

/**
 * The cluster's cipher of message content: data keys in PostgreSQL (shared by every process),
 * wrapped by NATTER_MASTER_KEY; `onMissing` reports a key that should be there and is not.
 * Long-running processes `follow` destructions, so an erasure on one gateway stops every gateway
 * opening the user's content at once (the cache's TTL bounds it if the news is lost).
 */
export const clusterContent = (
  config: Config,
  postgres: PostgresFeatures,
  report: { metrics?: Metrics; logger: { error(obj: object, msg: string): void } },
) => {
  const store = createPostgresContentKeyStore(postgres);
  const cipher = config.content.encryption
    ? createContentCipher({ store, masterKey: config.content.masterKey, cacheSize: config.content.keyCacheSize })
    : plaintextCipher;
  const onMissing = (what: string) => {
    report.metrics?.contentKeyMissing();
    report.logger.error({ what }, 'a data key is missing although nobody was erased: content lost');
  };
  return {
    store,
    cipher,
    onMissing,
    /** Erasure's second step: destroy the user's keys (every process hears it and drops them from its cache). */
    shred: config.content.encryption
      ? async (userId: string) => {
          await store.destroyOwner(userId);
          cipher.forget(userId);
        }
      : undefined,
    /** Keeps this process's key cache in step with destructions elsewhere; close it before the pool. */
    follow: () => store.watchDestroyed!((ownerId) => cipher.forget(ownerId)),
  };
};
