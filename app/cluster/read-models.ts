import type { Redis } from 'ioredis';
import type cassandra from 'cassandra-driver';
import type { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { ReadModels } from '../../ports/read-models.ts';
import { createRedisDirectoryStore } from '../../adapters/redis/directory-store.ts';
import { createRedisInboxStore } from '../../adapters/redis/inbox-store.ts';
import { createRedisReceiptStore } from '../../adapters/redis/receipt-store.ts';
import { createRedisUserStore } from '../../adapters/redis/user-store.ts';
import { createRedisCheckpointStore } from '../../adapters/redis/checkpoint-store.ts';
import { createCassandraHistoryStore } from '../../adapters/cassandra/history-store.ts';
import { createOpenSearchSearchIndex } from '../../adapters/opensearch/search-index.ts';
import type { Projector } from '../../ports/projector.ts';
import { directoryProjector } from '../../projections/directory/projector.ts';
import { historyProjector } from '../../projections/history/projector.ts';
import { inboxProjector } from '../../projections/inbox/projector.ts';
import { receiptsProjector } from '../../projections/receipts/projector.ts';
import { usersProjector } from '../../projections/users/projector.ts';
import { searchProjector } from '../../projections/search/projector.ts';
import type { ClusterConfig } from './config.ts';

/** The read models that have versions, named as their projectors are. */
export const versionedProjections = ['directory', 'history', 'inbox', 'receipts', 'users', 'search'] as const;
export type VersionedProjection = (typeof versionedProjections)[number];

/** projection → version; a projection not named is at version 1. */
export type ProjectionVersions = Readonly<Partial<Record<string, number>>>;

type Stores = Pick<ReadModels, VersionedProjection>;

/**
 * The cluster's read-model stores, one instance per (projection, version), made on first use and
 * kept: history in Cassandra, search in OpenSearch, everything else in Redis. A process that never
 * touches history or search (a replay of the inbox, the push worker) may pass no Cassandra or
 * OpenSearch client.
 */
export const clusterStores = (config: ClusterConfig, redis: Redis, cassandraClient: cassandra.Client | null, searchClient: OpenSearchClient | null = null) => {
  const made = new Map<string, Stores[VersionedProjection]>();
  const make = (projection: VersionedProjection, version: number): Stores[VersionedProjection] => {
    const options = { redis, prefix: config.redisPrefix, version };
    switch (projection) {
      case 'history':
        if (!cassandraClient) throw new Error('history lives in Cassandra: connect to it first');
        return createCassandraHistoryStore({ client: cassandraClient, keyspace: config.cassandra.keyspace, version });
      case 'search':
        if (!searchClient) throw new Error('search lives in OpenSearch: connect to it first');
        return createOpenSearchSearchIndex({ client: searchClient, prefix: config.opensearch.index, version });
      case 'directory':
        return createRedisDirectoryStore(options);
      case 'inbox':
        return createRedisInboxStore(options);
      case 'receipts':
        return createRedisReceiptStore(options);
      case 'users':
        return createRedisUserStore(options);
    }
  };
  const at = <P extends VersionedProjection>(projection: P, version: number): Stores[P] => {
    const key = `${projection}:${version}`;
    let store = made.get(key);
    if (!store) made.set(key, (store = make(projection, version)));
    return store as Stores[P];
  };
  /** The projector that writes one version of one read model. */
  const projectorAt = (projection: VersionedProjection, version: number): Projector => {
    switch (projection) {
      case 'directory':
        return directoryProjector(at('directory', version));
      case 'history':
        return historyProjector(at('history', version));
      case 'inbox':
        return inboxProjector(at('inbox', version));
      case 'receipts':
        return receiptsProjector(at('receipts', version));
      case 'users':
        return usersProjector(at('users', version));
      case 'search':
        return searchProjector(at('search', version));
    }
  };
  const checkpoints = createRedisCheckpointStore({ redis, prefix: config.redisPrefix });
  /** Every store at the given versions, each made when first read (so a caller without Cassandra or OpenSearch may use the rest). */
  const readModels = (versions: ProjectionVersions = {}): ReadModels => ({
    get history() {
      return at('history', versions.history ?? 1);
    },
    get directory() {
      return at('directory', versions.directory ?? 1);
    },
    get inbox() {
      return at('inbox', versions.inbox ?? 1);
    },
    get receipts() {
      return at('receipts', versions.receipts ?? 1);
    },
    get users() {
      return at('users', versions.users ?? 1);
    },
    get search() {
      return at('search', versions.search ?? 1);
    },
    checkpoints,
    // Each store's write is atomic and idempotent on its own; there is no wider commit to join.
    unitOfWork: (work) => work(),
    close: async () => {},
  });
  return { at, projectorAt, readModels, checkpoints };
};

/** A store whose every call goes to the store `current()` names at that moment. */
const following = <T extends object>(current: () => T): T =>
  new Proxy({} as T, {
    get: (_, key) => {
      const target = current();
      const value = (target as Record<PropertyKey, unknown>)[key];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

/**
 * The read models for readers: each call goes to the version `versions()` says is active now
 * (gateways pass a follower of the shared record, which reads it at start and on each switch, never
 * per request; a projector worker passes the versions its current batch writes).
 */
export const followingReadModels = (stores: ReturnType<typeof clusterStores>, versions: () => ProjectionVersions): ReadModels => ({
  checkpoints: stores.checkpoints,
  unitOfWork: (work) => work(),
  close: async () => {},
  history: following(() => stores.at('history', versions().history ?? 1)),
  directory: following(() => stores.at('directory', versions().directory ?? 1)),
  inbox: following(() => stores.at('inbox', versions().inbox ?? 1)),
  receipts: following(() => stores.at('receipts', versions().receipts ?? 1)),
  users: following(() => stores.at('users', versions().users ?? 1)),
  search: following(() => stores.at('search', versions().search ?? 1)),
});

/** The cluster's read models at the active versions `versions()` names; without it, version 1 of everything. */
export const clusterReadModels = (
  config: ClusterConfig,
  redis: Redis,
  cassandraClient: cassandra.Client | null,
  versions: () => ProjectionVersions = () => ({}),
  searchClient: OpenSearchClient | null = null,
): ReadModels => followingReadModels(clusterStores(config, redis, cassandraClient, searchClient), versions);
