import { loadConfig, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { ensureTopic } from '../../adapters/kafka/topics.ts';
import { consumePushQueue, kafkaPushQueue } from '../../adapters/kafka/push-queue.ts';
import { createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { createRedisRateLimiter } from '../../adapters/redis/rate-limiter.ts';
import { createRedisDelivery } from '../../adapters/redis/delivery.ts';
import { wireFeatures } from '../../features/wire.ts';
import { loadClusterConfig, type ClusterConfig } from './config.ts';
import { connectKafka, connectPostgresFeatures, connectRedis } from './engines.ts';
import { clusterFeatureStores } from './feature-stores.ts';
import { clusterReadModels } from './read-models.ts';
import { serialProducer } from '../../adapters/kafka/serial-producer.ts';

/**
 * The push worker: a member of the consumer group on the push topic, feeding the same push sender as
 * the embedded profile (features/push/sender.ts: collapse, then the configured providers); an invalid
 * token is removed from the shared registry.
 *
 * The topic is keyed by user, so one worker holds a user's requests at a time, but that alone does
 * not make a window hold across workers: a rebalance hands the partition to a worker that has no
 * window for the user, and a crash redelivers requests that were already pushed. The windows and the
 * highest pushed seq are therefore claimed in Redis, and what waits for a window's end is parked
 * there too (features/push/collapse.ts): every worker looks for windows that ended with messages
 * still parked, so a worker killed with -9 inside a window loses nothing. A request is committed on
 * the topic only once it is pushed or parked; a graceful stop hands back to the topic what it had
 * not claimed a window for yet.
 */
export const startPushWorker = async (config: Config = loadConfig(process.env, 'cluster'), cluster: ClusterConfig = loadClusterConfig()) => {
  const log = createLogger(config.logLevel).child({ role: 'push-worker' });
  const redis = await connectRedis(cluster, 'natter-push-worker');
  const kafka = await connectKafka(cluster, 'natter-push-worker');
  const postgres = await connectPostgresFeatures(cluster);
  await ensureTopic(kafka, { topic: cluster.pushTopic, partitions: cluster.partitions, replicationFactor: cluster.kafkaReplicationFactor });
  const prefix = cluster.redisPrefix;
  // The directory and inbox at the versions the shared record names active (a cluster replay switches
  // them while workers run): read at start and on every switch, never per call. No Cassandra: the
  // push worker never reads history.
  const versions = createRedisReadModelVersions({ redis, prefix }).follow({
    onError: (error) => log.warn({ err: error }, 'push worker: read-model versions not refreshed'),
  });
  await versions.ready;
  const readModels = clusterReadModels(cluster, redis, null, versions.active);
  const features = wireFeatures(config, clusterFeatureStores(config, { redis, prefix, postgres }), {
    readModels,
    limiter: createRedisRateLimiter({ redis, prefix }),
    log,
    delivery: createRedisDelivery({ redis, prefix, onError: () => {} }),
  });
  const sender = features.push.sender();
  const producer = await serialProducer(kafka);
  const consumer = await consumePushQueue({
    kafka,
    topic: cluster.pushTopic,
    groupId: cluster.pushGroup,
    sessionTimeoutMs: cluster.sessionTimeoutMs,
    log,
    take: (request) => sender.queue.offer([request]),
  });

  return {
    joined: consumer.joined,
    stop: async () => {
      await consumer.stop();
      // Requests not yet claimed go back to the topic, to whoever gets the partition next (parked ones stay parked).
      const waiting = sender.stop();
      if (waiting.length > 0) {
        await kafkaPushQueue(producer, cluster.pushTopic)
          .offer(waiting)
          .catch((error) => log.warn({ err: error, requests: waiting.length }, 'push worker: could not hand back waiting pushes'));
      }
      // Pushes in flight or waiting for a retry get a few seconds to finish.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        sender.idle(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 5_000);
        }),
      ]);
      clearTimeout(timer);
      await sender.close();
      await producer.disconnect();
      versions.stop();
      await postgres.close();
      redis.disconnect();
    },
  };
};
