import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { composeGateway } from '../compose.ts';
import { instrumentEventStore } from '../instrument.ts';
import { createPrometheusMetrics } from '../../adapters/prometheus/metrics.ts';
import { createRedisSessions } from '../../adapters/redis/sessions.ts';
import { createRedisRateLimiter } from '../../adapters/redis/rate-limiter.ts';
import { createRedisDelivery, subscribeGateway } from '../../adapters/redis/delivery.ts';
import { createRedisWatermarks } from '../../adapters/redis/watermarks.ts';
import { invoke, routeCommands } from '../../command-side/routed-commands.ts';
import { startRedisCommandBus } from '../../adapters/redis/command-bus.ts';
import { createConnectionRegistry } from '../../gateway/registry.ts';
import { loadClusterConfig, type ClusterConfig } from './config.ts';
import { connectEventStore, connectHistory, connectPostgresFeatures, connectRedis, connectSearch } from './engines.ts';
import { clusterReadModels } from './read-models.ts';
import { createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { clusterFeatureStores } from './feature-stores.ts';
import { clusterContent } from './content.ts';
import { sealingEventStore } from '../../adapters/crypto/sealed-events.ts';
import { openingReadModels } from '../../adapters/crypto/opening-read-models.ts';
import { wireFeatures } from '../../features/wire.ts';
import { fastPathFeed } from '../../projections/fanout/fast-path.ts';
import { openTracing, tracedAppends, tracedPublish, tracedSockets } from '../tracing.ts';

export type Gateway = {
  app: FastifyInstance;
  /** The gateways this one currently routes conversation commands between (itself included while it serves). */
  owners(): readonly string[];
  drain(): Promise<{ remaining: number }>;
  close(): Promise<void>;
};

/**
 * A gateway of the cluster profile: the whole REST and WebSocket API, commands appended to the shared
 * event store, queries from the shared read models (search from OpenSearch), live frames through its
 * own Redis channel (from the gateway that appended them, then again from the projector workers), and
 * its devices registered in the session registry.
 */
export const createGateway = async (config: Config = loadConfig(process.env, 'cluster'), cluster: ClusterConfig = loadClusterConfig()): Promise<Gateway> => {
  const logger = createLogger(config.logLevel).child({ role: 'gateway', gateway: cluster.gatewayId });
  const tracing = await openTracing(config, 'gateway', cluster.gatewayId);
  // With tracing off none of the tracing wrappers exist (app/tracing.ts).
  const appends = tracing.enabled ? tracedAppends(tracing) : undefined;
  const eventStoreRaw = await connectEventStore(cluster);
  const redis = await connectRedis(cluster, `natter-${cluster.gatewayId}`);
  const cassandraClient = await connectHistory(cluster);
  const searchClient = await connectSearch(cluster);
  // Reads go to the active read-model versions, followed from Redis (natter replay --cluster switches them).
  const versions = createRedisReadModelVersions({ redis, prefix: cluster.redisPrefix }).follow({
    onError: (error) => logger.warn({ err: error }, 'read-model versions: refresh failed'),
  });
  await versions.ready;
  const postgres = await connectPostgresFeatures(cluster);
  const watermarks = createRedisWatermarks({ redis, prefix: cluster.redisPrefix, partitions: cluster.partitions }).follow();
  await watermarks.ready;
  const { metrics, registry: prometheus } = createPrometheusMetrics({ lag: async () => (await eventStoreRaw.headPosition()) - watermarks.position() });
  const eventStore = instrumentEventStore(eventStoreRaw, metrics);
  const content = clusterContent(config, postgres, { metrics, logger });
  const keysFollower = await content.follow();
  // Queries read history and previews opened; the log and the read models hold them sealed.
  const readModels = openingReadModels(clusterReadModels(cluster, redis, cassandraClient, versions.active, searchClient), content.cipher, content.onMissing);
  const sessions = createRedisSessions({ redis, prefix: cluster.redisPrefix, gatewayId: cluster.gatewayId });
  const limiter = createRedisRateLimiter({ redis, prefix: cluster.redisPrefix });
  const registry = createConnectionRegistry(metrics);
  const onError = (error: unknown) => logger.warn({ err: error }, 'delivery failed; devices recover by sync');
  const local = tracing.enabled ? tracedSockets(registry.delivery, tracing) : registry.delivery;
  const subscription = await subscribeGateway({ redis, prefix: cluster.redisPrefix, gatewayId: cluster.gatewayId, local, onError });
  const redisDelivery = createRedisDelivery({ redis, prefix: cluster.redisPrefix, onError });
  const delivery = tracing.enabled ? tracedPublish(redisDelivery, tracing) : redisDelivery;
  const stores = clusterFeatureStores(config, { redis, prefix: cluster.redisPrefix, postgres });
  const features = wireFeatures(config, stores, { readModels, delivery, limiter, log: logger });
  let bus: Awaited<ReturnType<typeof startRedisCommandBus>> | undefined;
  const { app, lifecycle, stop } = await composeGateway(config, logger, {
    eventStore: appends ? appends.eventStore(sealingEventStore(eventStore, content.cipher)) : sealingEventStore(eventStore, content.cipher),
    features,
    readModels,
    registry,
    metrics,
    limiter,
    delivery,
    tracing,
    shred: content.shred,
    owns: (conversationId) => bus !== undefined && bus.ownerOf(conversationId) === undefined,
    presenceStore: sessions,
    logHead: () => eventStoreRaw.headPosition(),
    projections: { position: watermarks.position, caughtUp: (position) => watermarks.caughtUp(position) },
    metricsText: async () => ({ contentType: prometheus.contentType, body: await prometheus.metrics() }),
    onConflict: metrics.appendConflict,
    // The fast path: what this gateway appends goes to the members' gateways at once, ahead of the projectors.
    live: ((feed) => (appends ? appends.liveFeed(feed) : feed))(
      fastPathFeed(delivery, { statusFanoutMaxMembers: config.statusFanoutMaxMembers, cursorFor: watermarks.position }),
    ),
    // One writer per conversation: commands go to the conversation's owner among the live gateways.
    route: async (local) => {
      bus = await startRedisCommandBus({
        redis,
        prefix: cluster.redisPrefix,
        processId: cluster.gatewayId,
        timeoutMs: cluster.routeTimeoutMs,
        serve: (method, args) => invoke(local, method, args),
        onOwnersChanged: (members) => {
          // Conversations may have moved here: state cached while another gateway owned them is stale.
          local.forget();
          logger.info({ owners: members }, 'conversation owners changed');
        },
        onError: (error) => logger.warn({ err: error }, 'command routing failed'),
        log: logger,
        tracing,
      });
      return routeCommands(local, bus, { onRouted: metrics.commandRouted });
    },
  });
  const commandBus = bus!;
  return {
    app,
    owners: commandBus.members,
    drain: async () => {
      // Others stop routing commands here first; the commands already on their way are still served.
      await commandBus.leave();
      return lifecycle.drain({ timeoutMs: config.drainTimeoutMs, jitterMs: config.drainJitterMs });
    },
    close: async () => {
      stop();
      watermarks.stop();
      versions.stop();
      await app.close();
      await commandBus.close();
      await subscription.close();
      await eventStore.close();
      await keysFollower.close();
      await postgres.close();
      await cassandraClient.shutdown();
      await searchClient.close();
      redis.disconnect();
      await tracing.shutdown();
    },
  };
};
