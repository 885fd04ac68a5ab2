import { hostname } from 'node:os';
import { cassandraEnv } from '../../adapters/cassandra/client.ts';

/** Where the cluster's engines are: the names scripts/engines.sh prints, with its defaults. */
export type ClusterConfig = ReturnType<typeof loadClusterConfig>;

export const loadClusterConfig = (env: NodeJS.ProcessEnv = process.env) => {
  const partitions = Number(env.NATTER_KAFKA_PARTITIONS ?? 8);
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error('NATTER_KAFKA_PARTITIONS must be a positive integer');
  return {
    eventStore: (env.NATTER_EVENT_STORE ?? 'postgres') as 'postgres' | 'eventstoredb',
    pgUrl: env.NATTER_PG_URL ?? 'postgres://natter:natter@127.0.0.1:5442/natter',
    pgSchema: env.NATTER_PG_SCHEMA ?? 'public',
    eventStoreDbUrl: env.EVENTSTORE_URL ?? '',
    redisUrl: env.NATTER_REDIS_URL ?? 'redis://127.0.0.1:6390',
    redisPrefix: env.NATTER_REDIS_PREFIX ?? 'natter',
    kafkaBrokers: (env.NATTER_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter(Boolean),
    eventsTopic: env.NATTER_KAFKA_EVENTS_TOPIC ?? 'natter.events',
    pushTopic: env.NATTER_KAFKA_PUSH_TOPIC ?? 'natter.push',
    partitions,
    projectorGroup: env.NATTER_PROJECTOR_GROUP ?? 'natter-projectors',
    pushGroup: env.NATTER_PUSH_GROUP ?? 'natter-push',
    /** How long a silent projector worker keeps its partitions before the group takes them back. */
    sessionTimeoutMs: Number(env.NATTER_KAFKA_SESSION_TIMEOUT_MS ?? 30_000),
    cassandra: cassandraEnv(env),
    /** How long a gateway waits for a conversation's owner before answering `unavailable`. */
    routeTimeoutMs: Number(env.NATTER_ROUTE_TIMEOUT_MS ?? 10_000),
    gatewayId: env.NATTER_GATEWAY_ID ?? `gw-${hostname()}-${env.PORT ?? 3000}-${process.pid}`,
  };
};
