import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createLogger } from './logger.ts';
import { buildApp } from './build-app.ts';
import { createSqliteEventStore } from '../adapters/sqlite/event-store.ts';
import { createSqliteReadModels } from '../adapters/sqlite/read-models.ts';
import { createCommands } from '../command-side/commands.ts';
import { createConnectionRegistry } from '../command-side/gateway/registry.ts';
import { startProjections } from '../projections/runtime.ts';
import { readModelProjectors } from '../projections/projectors.ts';
import { fanoutReactor } from '../projections/fanout/reactor.ts';

export const embeddedPaths = (dataDir: string) => ({ events: join(dataDir, 'events.db'), readModels: join(dataDir, 'readmodels.db') });

export type Natter = { app: FastifyInstance; close(): Promise<void> };

/** The embedded profile: SQLite event log and read models, projections and fan-out in process. */
export const createEmbeddedNatter = async (config: Config): Promise<Natter> => {
  const logger = createLogger(config.logLevel);
  const paths = embeddedPaths(config.dataDir);
  const eventStore = createSqliteEventStore({ path: paths.events, synchronous: 'FULL' });
  const readModels = createSqliteReadModels(paths.readModels);
  const registry = createConnectionRegistry();
  const projections = await startProjections({
    eventStore,
    checkpoints: readModels.checkpoints,
    projectors: readModelProjectors(readModels),
    reactors: [fanoutReactor(readModels.directory, registry.delivery, { statusFanoutMaxMembers: config.statusFanoutMaxMembers })],
    log: logger,
  });
  const commands = createCommands(eventStore, { maxGroupMembers: config.maxGroupMembers });
  const app = await buildApp({ config, logger, commands, readModels, registry, projections });
  return {
    app,
    close: async () => {
      await app.close();
      await projections.stop();
      await eventStore.close();
      await readModels.close();
    },
  };
};
