import { createLogger } from '../logger.ts';
import { loadConfig, type Config } from '../config.ts';
import { startRelay } from '../../adapters/kafka/relay.ts';
import { ensureTopic } from '../../adapters/kafka/topics.ts';
import { createRedisCheckpointStore } from '../../adapters/redis/checkpoint-store.ts';
import { loadClusterConfig, type ClusterConfig } from './config.ts';
import { connectEventStore, connectKafka, connectRedis } from './engines.ts';
import { openTracing } from '../tracing.ts';

/**
 * The relay: the event store's global feed into the events topic, keyed by conversation, with its
 * checkpoint in Redis and a watermark record on every partition after each batch. Run one; a second
 * one would only duplicate records (consumers are idempotent), not lose any.
 */
export const startClusterRelay = async (cluster: ClusterConfig = loadClusterConfig(), config: Config = loadConfig(process.env, 'cluster')) => {
  const logger = createLogger(config.logLevel).child({ role: 'relay' });
  const tracing = await openTracing(config, 'relay');
  const eventStore = await connectEventStore(cluster);
  const redis = await connectRedis(cluster, 'natter-relay');
  const kafka = await connectKafka(cluster, 'natter-relay');
  await ensureTopic(kafka, { topic: cluster.eventsTopic, partitions: cluster.partitions, replicationFactor: cluster.kafkaReplicationFactor });
  const relay = await startRelay({
    eventStore,
    kafka,
    topic: cluster.eventsTopic,
    name: 'relay',
    checkpoints: createRedisCheckpointStore({ redis, prefix: cluster.redisPrefix }),
    watermarkPartitions: cluster.partitions,
    log: logger,
    tracing,
  });
  logger.info({ position: relay.position() }, 'relay started');
  return {
    relay,
    stop: async () => {
      await relay.stop();
      await eventStore.close();
      redis.disconnect();
      await tracing.shutdown();
    },
  };
};
