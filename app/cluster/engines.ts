import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type cassandra from 'cassandra-driver';
import type { EventStore } from '../../ports/event-store.ts';
import { createPostgresEventStore } from '../../adapters/postgres/event-store.ts';
import { openPostgresFeatures, type PostgresFeatures } from '../../adapters/postgres/features.ts';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { connectOpenSearch } from '../../adapters/opensearch/client.ts';
import { reconnectDelay, reportOutages } from '../../adapters/redis/client.ts';
import { createLogger } from '../logger.ts';
import type { ClusterConfig } from './config.ts';
import { masked } from '../config/validate.ts';

const hint = 'start them with `npm run engines:up` (or docker compose up) and check the NATTER_* settings';

/** An engine a role needs is unreachable or unusable at start: the message is the whole story, one line. */
export class EngineUnavailableError extends Error {}

/** Turns "ECONNREFUSED somewhere deep in a driver" into one line that names the engine and its address. */
const reach = async <T>(engine: string, address: string, connect: () => Promise<T>, timeoutMs = 15_000): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    if (error instanceof EngineUnavailableError) throw error;
    // Some drivers fold their inner errors' stacks into the message (cassandra-driver's NoHostAvailable).
    const reason = String((error as Error).message).split('\n')[0];
    throw new EngineUnavailableError(`cannot reach ${engine} at ${address}: ${reason}; ${hint}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
};

export const connectEventStore = (config: ClusterConfig): Promise<EventStore> =>
  config.eventStore === 'eventstoredb'
    ? // loadClusterConfig has checked that the URL is set.
      reach('EventStoreDB', masked(config.eventStoreDbUrl), async () => {
        // Loaded only when chosen: the gRPC client is heavy and PostgreSQL deployments never need it.
        const { createEventStoreDbEventStore } = await import('../../adapters/eventstoredb/event-store.ts');
        return createEventStoreDbEventStore({ connectionString: config.eventStoreDbUrl });
      })
    : reach('PostgreSQL', masked(config.pgUrl), () => createPostgresEventStore({ connectionString: config.pgUrl, schema: config.pgSchema }));

/** PostgreSQL for what lives beside the log whichever event store is chosen: media records and the key directory. */
export const connectPostgresFeatures = (config: ClusterConfig): Promise<PostgresFeatures> =>
  reach('PostgreSQL', masked(config.pgUrl), () => openPostgresFeatures({ connectionString: config.pgUrl, schema: config.pgSchema }));

/**
 * A Redis client that outlives a Redis restart: it reconnects within about a second of Redis being
 * back (reconnectDelay), commands issued meanwhile wait in ioredis' offline queue and fail only after
 * 20 attempts (about 17 s), and the outage is logged once, not once per attempt.
 */
export const connectRedis = (
  config: ClusterConfig,
  name: string,
  log: { warn(obj: object, msg: string): void } = createLogger(process.env.NATTER_LOG_LEVEL ?? 'info'),
): Promise<Redis> =>
  reach('Redis', config.redisUrl, async () => {
    const redis = new Redis(config.redisUrl, { lazyConnect: true, connectionName: name, maxRetriesPerRequest: 20, retryStrategy: reconnectDelay });
    // Until the first connection works, a failure is a start-up error: keep the socket's own error
    // (ioredis rejects with a bare "Connection is closed" and logs an unhandled error event) and stop
    // the client, or it would go on reconnecting behind the error.
    let firstError: Error | undefined;
    const remember = (error: Error) => {
      firstError ??= error;
    };
    redis.on('error', remember);
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw firstError ?? error;
    } finally {
      redis.off('error', remember);
    }
    reportOutages(redis, name, log);
    return redis;
  });

export const connectKafka = (config: ClusterConfig, clientId: string): Promise<Kafka> =>
  reach('Kafka', config.kafkaBrokers.join(','), async () => {
    // The start-up probe is a quiet client with a few quick retries, so a wrong or dead broker is one
    // clear line within seconds instead of a page of kafkajs retry logs; the client returned keeps its
    // own retries for a broker that goes away later.
    const probe = new Kafka({
      clientId,
      brokers: config.kafkaBrokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      retry: { retries: 3, initialRetryTime: 250, maxRetryTime: 2_000 },
    });
    const admin = probe.admin();
    await admin.connect();
    try {
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
    // A broker restart is waited out inside kafkajs: maxRetryTime 2 s (the default lets the wait between
    // attempts grow to 30 s, so a broker back from a restart could go unused that long), and 30 attempts,
    // about a minute. Past them a consumer crashes and kafkajs restarts it as a NEW group member, and the
    // group holds the partitions until the old member's session times out: with 10 attempts (~15 s) a
    // 20 s Kafka restart delayed delivery by 6-13 s (test session timeout 6 s; 30 s by default), with 30
    // by under 2 s (test/cluster/engine-restarts.cluster.test.ts). The relay's own send loop and the
    // consumer's restart still cover a longer outage.
    return new Kafka({ clientId, brokers: config.kafkaBrokers, logLevel: logLevel.ERROR, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
  });

export const connectHistory = (config: ClusterConfig): Promise<cassandra.Client> => {
  const address = config.cassandra.contactPoints.join(',');
  return reach(
    'Cassandra',
    address,
    async () => {
      try {
        return await connectCassandra(config.cassandra);
      } catch (error) {
        // The node answered, so starting engines would not help: the schema is what is missing.
        if (/keyspace .* does not exist/i.test((error as Error).message)) {
          throw new EngineUnavailableError(
            `Cassandra at ${address} has no keyspace ${config.cassandra.keyspace}: create it with \`natter migrate\` (with the same NATTER_CASSANDRA_* settings)`,
            { cause: error },
          );
        }
        throw error;
      }
    },
    30_000,
  );
};

/** OpenSearch, which holds the search read model (written by projector workers, read by gateways). */
export const connectSearch = (config: ClusterConfig) => reach('OpenSearch', masked(config.opensearch.url), () => connectOpenSearch(config.opensearch.url));
