import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { commandLimits, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { buildApp } from './build-app.ts';
import { createSqliteEventStore } from '../adapters/sqlite/event-store.ts';
import { createSqliteReadModels } from '../adapters/sqlite/read-models.ts';
import { createMemoryPresenceStore } from '../adapters/memory/presence-store.ts';
import { createMemoryRateLimiter } from '../adapters/memory/rate-limiter.ts';
import { createPrometheusMetrics } from '../adapters/prometheus/metrics.ts';
import { createCommands } from '../command-side/commands.ts';
import { createConnectionRegistry } from '../command-side/gateway/registry.ts';
import { startProjections } from '../projections/runtime.ts';
import { readModelProjectors } from '../projections/projectors.ts';
import { fanoutReactor } from '../projections/fanout/reactor.ts';
import { instrumentEventStore } from './instrument.ts';
import { createEmbeddedFeatures } from './features.ts';
import { registryLiveDevices } from '../adapters/memory/live-devices.ts';

export const embeddedPaths = (dataDir: string) => ({ events: join(dataDir, 'events.db'), readModels: join(dataDir, 'readmodels.db') });

export type Natter = {
  app: FastifyInstance;
  /** Tells every device to reconnect elsewhere and waits for them to leave, up to the deadline. */
  drain(): Promise<{ remaining: number }>;
  close(): Promise<void>;
};

/** The embedded profile: SQLite event log and read models, projections and fan-out in process. */
export const createEmbeddedNatter = async (config: Config): Promise<Natter> => {
  const logger = createLogger(config.logLevel);
  const paths = embeddedPaths(config.dataDir);
  const sqliteEvents = createSqliteEventStore({ path: paths.events, synchronous: 'FULL' });
  const readModels = createSqliteReadModels(paths.readModels);
  let projectionsPosition = () => 0;
  const { metrics, registry: prometheus } = createPrometheusMetrics({ lag: async () => (await sqliteEvents.headPosition()) - projectionsPosition() });
  const registry = createConnectionRegistry(metrics);
  // Offline push, media and the key directory (app/features.ts); the limiter is created below.
  const features = createEmbeddedFeatures(config, {
    logger, readModels, delivery: registry.delivery, live: registryLiveDevices(registry), limiter: { take: (...args) => limiter.take(...args) },
  });
  const eventStore = instrumentEventStore(sqliteEvents, metrics);
  const projections = await startProjections({
    eventStore,
    checkpoints: readModels.checkpoints,
    unitOfWork: readModels.unitOfWork,
    projectors: [...readModelProjectors(readModels), ...features.projectors],
    reactors: [fanoutReactor(readModels.directory, registry.delivery, { statusFanoutMaxMembers: config.statusFanoutMaxMembers, metrics }), ...features.reactors],
    log: logger,
  });
  projectionsPosition = projections.position;
  const limiter = createMemoryRateLimiter();
  const sweep = setInterval(() => limiter.sweep(), 60_000);
  sweep.unref();
  const commands = features.guard(createCommands(eventStore, { ...commandLimits(config), limiter, onRateLimited: metrics.rateLimited }));
  const { app, lifecycle, stop } = await buildApp({
    config, logger, commands, readModels, registry, projections, metrics,
    presenceStore: createMemoryPresenceStore(),
    logHead: () => sqliteEvents.headPosition(),
    limiter,
    metricsText: async () => ({ contentType: prometheus.contentType, body: await prometheus.metrics() }),
    routes: [features.routes],
  });
  return {
    app,
    drain: () => lifecycle.drain({ timeoutMs: config.drainTimeoutMs, jitterMs: config.drainJitterMs }),
    close: async () => {
      clearInterval(sweep);
      stop();
      await app.close();
      await projections.stop();
      await features.close();
      await eventStore.close();
      await readModels.close();
    },
  };
};
