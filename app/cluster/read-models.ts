import type { Redis } from 'ioredis';
import type cassandra from 'cassandra-driver';
import type { ReadModels } from '../../ports/read-models.ts';
import { createRedisDirectoryStore } from '../../adapters/redis/directory-store.ts';
import { createRedisInboxStore } from '../../adapters/redis/inbox-store.ts';
import { createRedisReceiptStore } from '../../adapters/redis/receipt-store.ts';
import { createRedisCheckpointStore } from '../../adapters/redis/checkpoint-store.ts';
import { createCassandraHistoryStore } from '../../adapters/cassandra/history-store.ts';
import type { ClusterConfig } from './config.ts';

/** The cluster's read models: history in Cassandra, everything else in Redis. */
export const clusterReadModels = (config: ClusterConfig, redis: Redis, cassandraClient: cassandra.Client): ReadModels => {
  const options = { redis, prefix: config.redisPrefix };
  return {
    history: createCassandraHistoryStore({ client: cassandraClient, keyspace: config.cassandra.keyspace }),
    directory: createRedisDirectoryStore(options),
    inbox: createRedisInboxStore(options),
    receipts: createRedisReceiptStore(options),
    checkpoints: createRedisCheckpointStore(options),
    // Each store's write is atomic and idempotent on its own; there is no wider commit to join.
    unitOfWork: (work) => work(),
    close: async () => {},
  };
};
