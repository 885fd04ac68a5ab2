import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { HistoryStore, ReadModels } from '../../ports/read-models.ts';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { createRedisReadModels, type RedisReadModels } from '../../adapters/redis/read-models.ts';
import { deleteUnder } from '../../adapters/redis/client.ts';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { migrate } from '../../adapters/cassandra/migrations.ts';
import { createCassandraHistoryStore } from '../../adapters/cassandra/history-store.ts';
import type { EngineEnv } from './engines.ts';
import type { Opened } from './projection-spec.ts';
import { tempDir } from './natter.ts';

/*
 * Every backend of the read-model ports, each in a namespace of its own that close() removes, so
 * that spec files can run beside each other and beside the contract suites on the shared engines.
 */

type Stores = Pick<ReadModels, 'directory' | 'inbox' | 'receipts' | 'history'>;
type WithModels<M> = { models: M; close(): Promise<void> };

/** The embedded read models: one SQLite file in a fresh directory. */
export const sqliteReadModels = async (): Promise<WithModels<ReadModels>> => {
  const models = createSqliteReadModels(join(tempDir('natter-spec-'), 'read-models.db'));
  return { models, close: () => models.close() };
};

/** The cluster's read models in Redis under a fresh key prefix (`inboxFanoutMaxMembers: 0` is the inbox's pull mode). */
export const redisReadModels = async (
  env: Pick<EngineEnv, 'NATTER_REDIS_URL'>,
  options: { inboxFanoutMaxMembers?: number } = {},
): Promise<WithModels<RedisReadModels>> => {
  const prefix = `natter-spec:${randomUUID()}`;
  const models = createRedisReadModels({ url: env.NATTER_REDIS_URL, prefix, ...options });
  return {
    models,
    close: async () => {
      await deleteUnder(models.redis, `${prefix}:`);
      await models.close();
    },
  };
};

/** The cluster's history in a fresh Cassandra keyspace, dropped on close. */
export const cassandraHistory = async (env: Pick<EngineEnv, 'NATTER_CASSANDRA_CONTACT_POINTS' | 'NATTER_CASSANDRA_DC'>): Promise<Opened<HistoryStore>> => {
  const client = await connectCassandra({ contactPoints: env.NATTER_CASSANDRA_CONTACT_POINTS.split(','), localDataCenter: env.NATTER_CASSANDRA_DC });
  const keyspace = `natter_spec_${randomBytes(8).toString('hex')}`;
  await migrate(client, keyspace, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
  return {
    store: createCassandraHistoryStore({ client, keyspace }),
    close: async () => {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
      await client.shutdown();
    },
  };
};

/** One store of opened read models: `sqliteReadModels().then(storeOf('inbox'))`. */
export const storeOf =
  <K extends keyof Stores>(key: K) =>
  ({ models, close }: WithModels<Pick<Stores, K>>): Opened<Stores[K]> => ({ store: models[key], close });
