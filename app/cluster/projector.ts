import { createLogger } from '../logger.ts';
import { loadConfig, type Config } from '../config.ts';
import { startKafkaProjections } from '../../adapters/kafka/projector-runtime.ts';
import { ensureTopic } from '../../adapters/kafka/topics.ts';
import { createRedisDelivery } from '../../adapters/redis/delivery.ts';
import { createRedisWatermarks } from '../../adapters/redis/watermarks.ts';
import { createRedisRateLimiter } from '../../adapters/redis/rate-limiter.ts';
import { kafkaPushQueue } from '../../adapters/kafka/push-queue.ts';
import { readModelProjectors } from '../../projections/projectors.ts';
import { fanoutReactor } from '../../projections/fanout/reactor.ts';
import type { Projector } from '../../ports/projector.ts';
import { loadClusterConfig, type ClusterConfig } from './config.ts';
import { connectHistory, connectKafka, connectPostgresFeatures, connectRedis, connectSearch } from './engines.ts';
import { clusterStores, followingReadModels, type ProjectionVersions, type VersionedProjection } from './read-models.ts';
import { versionedProjectors } from './projector-versions.ts';
import { createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { clusterFeatureStores } from './feature-stores.ts';
import { clusterContent } from './content.ts';
import { openEvents } from '../../adapters/crypto/sealed-events.ts';
import { wireFeatures } from '../../features/wire.ts';
import { openTracing, tracedPublish } from '../tracing.ts';
import { serialProducer } from '../../adapters/kafka/serial-producer.ts';

const together = (projectors: Projector[]): Projector => ({
  name: projectors.map((p) => p.name).join('+'),
  handle: async (events) => {
    await Promise.all(projectors.map((p) => p.handle(events)));
  },
  reset: async () => {
    await Promise.all(projectors.map((p) => p.reset()));
  },
});

/**
 * A projector worker: a member of the projector consumer group over the events topic. For each
 * batch of its partitions it writes the read models (Redis, Cassandra), then fans the events out once
 * per gateway, queues offline members for push, and records the relay's watermarks. Adding or killing
 * a worker rebalances the partitions; writes are idempotent, so a replayed batch changes nothing.
 * Each read model is written at the version the shared record names (projector-versions.ts), so
 * `natter replay --cluster` can build a new one beside it and switch while this keeps running.
 */
export const startProjectorWorker = async (
  config: Config = loadConfig(process.env, 'cluster'),
  cluster: ClusterConfig = loadClusterConfig(),
  names: string[] = [],
) => {
  const logger = createLogger(config.logLevel).child({ role: 'projector' });
  const tracing = await openTracing(config, 'projector');
  const redis = await connectRedis(cluster, 'natter-projector');
  const cassandraClient = await connectHistory(cluster);
  const searchClient = await connectSearch(cluster);
  const kafka = await connectKafka(cluster, 'natter-projector');
  await ensureTopic(kafka, { topic: cluster.eventsTopic, partitions: cluster.partitions, replicationFactor: cluster.kafkaReplicationFactor });
  await ensureTopic(kafka, { topic: cluster.pushTopic, partitions: cluster.partitions, replicationFactor: cluster.kafkaReplicationFactor });
  const stores = clusterStores(cluster, redis, cassandraClient, searchClient);
  const postgres = await connectPostgresFeatures(cluster);
  const content = clusterContent(config, postgres, { logger });
  const keysFollower = await content.follow();
  let published = 0;
  const redisDelivery = createRedisDelivery({
    redis,
    prefix: cluster.redisPrefix,
    onPublished: (gateways) => {
      published += gateways;
    },
    onError: (error) => logger.warn({ err: error }, 'fan-out publish failed; devices recover by sync'),
  });
  const delivery = tracing.enabled ? tracedPublish(redisDelivery, tracing) : redisDelivery;
  // The reactors read the read models at the versions this worker's current batch writes.
  let active: () => ProjectionVersions = () => ({});
  const readModels = followingReadModels(stores, () => active());
  const features = wireFeatures(config, clusterFeatureStores(config, { redis, prefix: cluster.redisPrefix, postgres }), {
    readModels,
    delivery,
    limiter: createRedisRateLimiter({ redis, prefix: cluster.redisPrefix }),
    log: logger,
  });
  const all = readModelProjectors(stores.readModels());
  const known = [...all, ...features.projectors].map((p) => p.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`unknown projection ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  const chosen = names.length === 0 ? all : all.filter((p) => names.includes(p.name));
  const featureProjectors = names.length === 0 ? features.projectors : features.projectors.filter((p) => names.includes(p.name));
  const versioned = await versionedProjectors({
    versions: createRedisReadModelVersions({ redis, prefix: cluster.redisPrefix }),
    stores,
    names: chosen.map((p) => p.name as VersionedProjection),
    // Below the session timeout, so that a batch held by a replay's fence never costs the partition.
    maxWaitMs: Math.max(500, Math.floor(cluster.sessionTimeoutMs / 3)),
  });
  active = versioned.active;
  // The directory goes first (the fan-out reads it); history (Cassandra), inbox, receipts (Redis),
  // search (OpenSearch) and media shares (PostgreSQL) write disjoint stores and read nothing of each
  // other, so they go at the same time.
  const [first, rest] = [
    versioned.projectors.filter((p) => p.name === 'directory'),
    [...versioned.projectors.filter((p) => p.name !== 'directory'), ...featureProjectors],
  ];
  const projectors: Projector[] = [versioned.gate, ...first, ...(rest.length > 0 ? [together(rest)] : [])];

  const watermarks = createRedisWatermarks({ redis, prefix: cluster.redisPrefix, partitions: cluster.partitions });
  const follower = watermarks.follow();
  const producer = await serialProducer(kafka);
  // Only a worker that runs every projector may fan out and move the watermark: the fan-out reads
  // the directory, and the watermark promises that every read model has the batch.
  const complete = chosen.length === all.length && featureProjectors.length === features.projectors.length;
  const runtime = await startKafkaProjections({
    kafka,
    topic: cluster.eventsTopic,
    groupId: names.length === 0 ? cluster.projectorGroup : `${cluster.projectorGroup}-${names.join('-')}`,
    projectors,
    // Kafka holds content sealed, as the log does: batches are opened for the projectors here.
    open: (events) => openEvents(content.cipher, events, (event) => content.onMissing(`${event.type} at ${event.position}`)),
    sessionTimeout: cluster.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(cluster.sessionTimeoutMs / 3)),
    reactors: complete
      ? [
          fanoutReactor(readModels.directory, delivery, { statusFanoutMaxMembers: config.statusFanoutMaxMembers, cursorFor: follower.position }),
          features.push.reactor(kafkaPushQueue(producer, cluster.pushTopic)),
          ...features.reactors,
          watermarks.reactor,
        ]
      : [],
    log: logger,
    tracing,
  });
  await runtime.joined;
  logger.info({ projectors: chosen.map((p) => p.name) }, 'projector worker joined the group');
  return {
    published: () => published,
    stop: async () => {
      follower.stop();
      await runtime.stop();
      await producer.disconnect();
      await cassandraClient.shutdown();
      await keysFollower.close();
      await searchClient.close();
      await postgres.close();
      redis.disconnect();
      await tracing.shutdown();
    },
  };
};
