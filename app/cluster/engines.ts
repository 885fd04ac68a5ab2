import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type cassandra from 'cassandra-driver';
import type { EventStore } from '../../ports/event-store.ts';
import { createPostgresEventStore } from '../../adapters/postgres/event-store.ts';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import type { ClusterConfig } from './config.ts';

const hint = 'start them with `npm run engines:up` (or docker compose up) and check the NATTER_* settings';

/** Turns "ECONNREFUSED somewhere deep in a driver" into one line that names the engine and its address. */
const reach = async <T>(engine: string, address: string, connect: () => Promise<T>, timeoutMs = 15_000): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      connect(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } catch (error) {
    throw new Error(`cannot reach ${engine} at ${address}: ${(error as Error).message}; ${hint}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
};

export const connectEventStore = (config: ClusterConfig): Promise<EventStore> => config.eventStore === 'eventstoredb'
  ? reach('EventStoreDB', config.eventStoreDbUrl || '(EVENTSTORE_URL is not set)', async () => {
    if (!config.eventStoreDbUrl) throw new Error('EVENTSTORE_URL is not set');
    // Loaded only when chosen: the gRPC client is heavy and PostgreSQL deployments never need it.
    const { createEventStoreDbEventStore } = await import('../../adapters/eventstoredb/event-store.ts');
    return createEventStoreDbEventStore({ connectionString: config.eventStoreDbUrl });
  })
  : reach('PostgreSQL', config.pgUrl.replace(/:[^:@/]*@/, ':***@'), () => createPostgresEventStore({ connectionString: config.pgUrl, schema: config.pgSchema }));

export const connectRedis = (config: ClusterConfig, name: string): Promise<Redis> => reach('Redis', config.redisUrl, async () => {
  const redis = new Redis(config.redisUrl, { lazyConnect: true, connectionName: name, maxRetriesPerRequest: 20 });
  await redis.connect();
  await redis.ping();
  return redis;
});

export const connectKafka = (config: ClusterConfig, clientId: string): Promise<Kafka> => reach('Kafka', config.kafkaBrokers.join(','), async () => {
  const kafka = new Kafka({ clientId, brokers: config.kafkaBrokers, logLevel: logLevel.ERROR, retry: { retries: 10, initialRetryTime: 200 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.describeCluster();
  await admin.disconnect();
  return kafka;
});

export const connectHistory = (config: ClusterConfig): Promise<cassandra.Client> =>
  reach('Cassandra', config.cassandra.contactPoints.join(','), () => connectCassandra(config.cassandra), 30_000);
