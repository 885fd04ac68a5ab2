// A fresh namespace on the shared engines, so that test files and bench runs can use them side by
// side: shared by test/ (through test/support/cluster.ts) and bench/, which must not import from test/.
import { randomBytes } from 'node:crypto';
import { loadClusterConfig } from '../app/cluster/config.ts';
import { migrate } from '../adapters/cassandra/migrations.ts';
import { connectCassandra } from '../adapters/cassandra/client.ts';
import { namespace as redisNamespace } from '../adapters/redis/keys.ts';
import { requireEngines } from './engines.ts';

export type ClusterNamespace = Record<string, string>;

/** Test and bench namespaces: `t`, the creation time in base 36 (ms), 6 hex digits. */
const NAMESPACE_ID = /^t([0-9a-z]{8,9})[0-9a-f]{6}$/;

/** The names of namespace `id` on the engines at `engines`. */
const namespaceEnv = (id: string, engines: Record<string, string>): ClusterNamespace => ({
  ...engines,
  NATTER_REDIS_PREFIX: id,
  NATTER_PG_SCHEMA: id,
  NATTER_CASSANDRA_KEYSPACE: id,
  NATTER_KAFKA_EVENTS_TOPIC: `${id}.events`,
  NATTER_KAFKA_PUSH_TOPIC: `${id}.push`,
  NATTER_OPENSEARCH_INDEX: id,
  NATTER_PROJECTOR_GROUP: `${id}-projectors`,
  NATTER_PUSH_GROUP: `${id}-push`,
  NATTER_KAFKA_PARTITIONS: '4',
  // The cluster keeps dev tokens off unless asked; tests and benchmarks mint their users' tokens.
  NATTER_DEV_TOKENS: 'true',
});

/**
 * A fresh namespace on the shared engines (Redis prefix, PostgreSQL schema, Kafka topics and groups,
 * Cassandra keyspace, OpenSearch index prefix), so test files can run side by side; the Cassandra schema is migrated here.
 */
export const clusterNamespace = async (): Promise<ClusterNamespace> => {
  const engines = await requireEngines('redis', 'postgres', 'kafka', 'cassandra', 'opensearch');
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const env: ClusterNamespace = {
    ...namespaceEnv(id, engines),
    NATTER_JWT_SECRET: randomBytes(32).toString('hex'),
    NATTER_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const { contactPoints, localDataCenter } = loadClusterConfig(env).cassandra;
  const client = await connectCassandra({ contactPoints, localDataCenter });
  try {
    await migrate(client, id, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
  } finally {
    await client.shutdown();
  }
  return env;
};

/**
 * Drops what clusterNamespace() created, on every engine at once; the failures are returned, not
 * thrown, so that one engine that is down does not keep the others from being cleaned.
 */
export const dropClusterNamespace = async (ns: ClusterNamespace): Promise<unknown[]> => {
  const jobs: Array<Promise<unknown>> = [
    (async () => {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: ns.NATTER_PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${ns.NATTER_PG_SCHEMA}" CASCADE`);
      } finally {
        await client.end();
      }
    })(),
    (async () => {
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({ clientId: 'natter-namespace-cleanup', brokers: ns.NATTER_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: [ns.NATTER_KAFKA_EVENTS_TOPIC!, ns.NATTER_KAFKA_PUSH_TOPIC!] });
      } finally {
        await admin.disconnect();
      }
    })(),
    (async () => {
      const client = await connectCassandra({ contactPoints: ns.NATTER_CASSANDRA_CONTACT_POINTS!.split(','), localDataCenter: ns.NATTER_CASSANDRA_DC! });
      try {
        await client.execute(`DROP KEYSPACE IF EXISTS ${ns.NATTER_CASSANDRA_KEYSPACE}`);
      } finally {
        await client.shutdown();
      }
    })(),
    (async () => {
      const { Client } = await import('@opensearch-project/opensearch');
      const client = new Client({ node: ns.NATTER_OPENSEARCH_URL! });
      try {
        await client.indices.delete({ index: `${ns.NATTER_OPENSEARCH_INDEX}-messages-v*` });
      } finally {
        await client.close();
      }
    })(),
    (async () => {
      const { Redis } = await import('ioredis');
      const redis = new Redis(ns.NATTER_REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisNamespace(ns.NATTER_REDIS_PREFIX!)}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    })(),
  ];
  const settled = await Promise.allSettled(jobs);
  return settled.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
};

/**
 * Drops the namespaces older than `olderThanMs` that test files and bench runs left on the shared
 * engines (test files leave theirs, and a killed run leaves its own): each costs Cassandra
 * a keyspace of tables to keep metrics for, and Kafka two topics. Found by their Cassandra keyspaces
 * and PostgreSQL schemas; a younger namespace may belong to a run going on now, and is kept.
 */
export const pruneClusterNamespaces = async (olderThanMs: number, now = Date.now()): Promise<{ dropped: string[]; failures: unknown[] }> => {
  const engines = await requireEngines('redis', 'postgres', 'kafka', 'cassandra', 'opensearch');
  const ids = new Set<string>();
  const cassandra = await connectCassandra({ contactPoints: engines.NATTER_CASSANDRA_CONTACT_POINTS.split(','), localDataCenter: engines.NATTER_CASSANDRA_DC });
  try {
    for (const row of (await cassandra.execute('SELECT keyspace_name FROM system_schema.keyspaces')).rows) ids.add(String(row.keyspace_name));
  } finally {
    await cassandra.shutdown();
  }
  const pg = new (await import('pg')).default.Client({ connectionString: engines.NATTER_PG_URL });
  await pg.connect();
  try {
    for (const row of (await pg.query('SELECT schema_name FROM information_schema.schemata')).rows) ids.add(String(row.schema_name));
  } finally {
    await pg.end();
  }
  const stale = [...ids].filter((id) => {
    const created = NAMESPACE_ID.exec(id)?.[1];
    return created !== undefined && now - Number.parseInt(created, 36) > olderThanMs;
  });
  const failures: unknown[] = [];
  for (const id of stale) failures.push(...(await dropClusterNamespace(namespaceEnv(id, engines))));
  return { dropped: stale, failures };
};
