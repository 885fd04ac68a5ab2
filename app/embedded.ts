import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createLogger } from './logger.ts';
import { composeGateway } from './compose.ts';
import { openEmbeddedContent, openEmbeddedFeatureStores } from './embedded-stores.ts';
import { openingEventStore, sealingEventStore } from '../adapters/crypto/sealed-events.ts';
import { openingReadModels } from '../adapters/crypto/opening-read-models.ts';
import { instrumentEventStore } from './instrument.ts';
import { createSqliteEventStore } from '../adapters/sqlite/event-store.ts';
import { createSqliteReadModels } from '../adapters/sqlite/read-models.ts';
import { createMemoryPresenceStore } from '../adapters/memory/presence-store.ts';
import { createMemoryRateLimiter } from '../adapters/memory/rate-limiter.ts';
import { registryLiveDevices } from '../adapters/memory/live-devices.ts';
import { createPrometheusMetrics } from '../adapters/prometheus/metrics.ts';
import { createConnectionRegistry } from '../gateway/registry.ts';
import { startProjections } from '../projections/runtime.ts';
import { readModelProjectors } from '../projections/projectors.ts';
import { fanoutReactor } from '../projections/fanout/reactor.ts';
import { wireFeatures } from '../features/wire.ts';
import type { Tracing } from '../ports/tracing.ts';
import { openTracing, tracedAppends, tracedSockets } from './tracing.ts';

export const embeddedPaths = (dataDir: string) => ({ events: join(dataDir, 'events.db'), readModels: join(dataDir, 'readmodels.db') });

export type Natter = {
  app: FastifyInstance;
  /**
   * Called if the process can no longer serve (the event log's writer thread died): /healthz and
   * /readyz answer 503 from then on, and the caller should exit non-zero so a supervisor restarts it.
   */
  onFatal(listener: (error: Error) => void): void;
  /** Tells every device to reconnect elsewhere and waits for them to leave, up to the deadline. */
  drain(): Promise<{ remaining: number }>;
  close(): Promise<void>;
};

/**
 * The embedded profile: SQLite event log and read models, projections, fan-out and push in process.
 * Message content is sealed on its way into the log and opened on its way out (crypto-shredding).
 */
/** `tracing`: a caller's own (a test's in-memory exporter), which it also shuts down; by default the configured one. */
export const createEmbeddedNatter = async (config: Config, options: { tracing?: Tracing } = {}): Promise<Natter> => {
  const logger = createLogger(config.logLevel);
  const tracing = options.tracing ?? (await openTracing(config, 'embedded'));
  // With tracing off none of the tracing wrappers exist (app/tracing.ts).
  const appends = tracing.enabled ? tracedAppends(tracing) : undefined;
  const paths = embeddedPaths(config.dataDir);
  const sqliteEvents = createSqliteEventStore({ path: paths.events, synchronous: 'FULL' });
  let fatal: Error | null = null;
  sqliteEvents.onFailure((error) => {
    fatal = error;
    logger.fatal({ err: error }, 'the event log cannot be written any more');
  });
  const readModels = createSqliteReadModels(paths.readModels);
  let projectionsPosition = () => 0;
  const { metrics, registry: prometheus } = createPrometheusMetrics({ lag: async () => (await sqliteEvents.headPosition()) - projectionsPosition() });
  const registry = createConnectionRegistry(metrics);
  const limiter = createMemoryRateLimiter();
  const sweep = setInterval(() => limiter.sweep(), 60_000);
  sweep.unref();
  const stores = openEmbeddedFeatureStores(config, registryLiveDevices(registry));
  const content = openEmbeddedContent(config);
  const onMissing = (what: string) => {
    metrics.contentKeyMissing();
    logger.error({ what }, 'a data key is missing although nobody was erased: content lost');
  };
  // What the features read goes through the opening wrapper (previews and history are stored sealed).
  const opened = openingReadModels(readModels, content.cipher, onMissing);
  const features = wireFeatures(config, stores, { readModels: opened, delivery: registry.delivery, limiter, log: logger.child({ component: 'push' }) });
  const push = features.push.sender();
  const eventStore = instrumentEventStore(sqliteEvents, metrics);
  const projections = await startProjections({
    eventStore: openingEventStore(eventStore, content.cipher, (event) => onMissing(`${event.type} at ${event.position}`)),
    checkpoints: readModels.checkpoints,
    unitOfWork: readModels.unitOfWork,
    projectors: [...readModelProjectors(readModels), ...features.projectors],
    reactors: [
      fanoutReactor(readModels.directory, tracing.enabled ? tracedSockets(registry.delivery, tracing) : registry.delivery, {
        statusFanoutMaxMembers: config.statusFanoutMaxMembers,
        metrics,
      }),
      features.push.reactor(push.queue),
      ...features.reactors,
    ],
    log: logger,
  });
  projectionsPosition = projections.position;
  const { app, lifecycle, stop } = await composeGateway(config, logger, {
    eventStore: appends ? appends.eventStore(sealingEventStore(eventStore, content.cipher)) : sealingEventStore(eventStore, content.cipher),
    features,
    registry,
    projections,
    metrics,
    limiter,
    tracing,
    shred: content.shred,
    readModels: opened,
    presenceStore: createMemoryPresenceStore(),
    logHead: () => sqliteEvents.headPosition(),
    metricsText: async () => ({ contentType: prometheus.contentType, body: await prometheus.metrics() }),
    failure: () => (fatal ? `the event log cannot be written: ${fatal.message}` : null),
  });
  return {
    app,
    onFatal: (listener) => sqliteEvents.onFailure(listener),
    drain: () => lifecycle.drain({ timeoutMs: config.drainTimeoutMs, jitterMs: config.drainJitterMs }),
    close: async () => {
      clearInterval(sweep);
      stop();
      await app.close();
      await projections.stop();
      push.stop();
      await push.close();
      stores.close();
      await content.close();
      await eventStore.close();
      await readModels.close();
      if (!options.tracing) await tracing.shutdown();
    },
  };
};
