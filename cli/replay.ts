import { loadConfig } from '../app/config.ts';
import { embeddedPaths } from '../app/embedded.ts';
import { openEmbeddedContent } from '../app/embedded-stores.ts';
import { openingEventStore } from '../adapters/crypto/sealed-events.ts';
import { createSqliteEventStore } from '../adapters/sqlite/event-store.ts';
import { createSqliteReadModels } from '../adapters/sqlite/read-models.ts';
import { readModelProjectors } from '../projections/projectors.ts';
import { rebuild } from '../projections/runtime.ts';
import { dataDirHolder } from './data-dir-lock.ts';
import { rate, replayBar } from './progress.ts';

export type ReplayOptions = { batch: number; cluster?: boolean; dropOld?: boolean; grace: number };

/** `natter replay`: the embedded profile's read models by default, the cluster's with --cluster. */
export const replay = async (name: string, options: ReplayOptions) => {
  if (options.cluster) return (await import('./replay-cluster.ts')).replayClusterCommand(name, options);
  if (options.dropOld) throw new Error('--drop-old applies to --cluster only: the embedded replay rebuilds in place');
  return replayEmbedded(name, options);
};

/** Rebuilds one or every read model of the embedded profile from position 0, in one pass over the log. */
const replayEmbedded = async (name: string, options: { batch: number }) => {
  const config = loadConfig();
  const holder = dataDirHolder(config.dataDir);
  if (holder) throw new Error(`a Natter server (pid ${holder}) is using ${config.dataDir}; stop it before replaying`);
  const paths = embeddedPaths(config.dataDir);
  const content = openEmbeddedContent(config);
  const eventStore = openingEventStore(createSqliteEventStore({ path: paths.events }), content.cipher, (event) => {
    console.error(`natter replay: no data key for ${event.type} at ${event.position} although its author was not erased: that content is lost`);
  });
  const readModels = createSqliteReadModels(paths.readModels);
  try {
    const all = readModelProjectors(readModels);
    const chosen = name === 'all' ? all : all.filter((p) => p.name === name);
    if (chosen.length === 0) throw new Error(`unknown projection ${name}; choose one of ${all.map((p) => p.name).join(', ')} or all`);
    const names = chosen.map((p) => p.name).join(', ');
    const head = await eventStore.headPosition();
    const bar = replayBar();
    bar.start(head, 0, { events: 0, rate: 0 });
    const started = performance.now();
    const result = await rebuild({
      eventStore,
      checkpoints: readModels.checkpoints,
      unitOfWork: readModels.unitOfWork,
      projectors: chosen,
      batchSize: options.batch,
      onProgress: (position, events) => bar.update(position, { events, rate: rate(events, (performance.now() - started) / 1000) }),
    });
    // The last commit, and the indexes a rebuild builds at its end, count in the time.
    await readModels.close();
    bar.update(head, { events: result.events });
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    for (const projector of chosen) console.log(`${projector.name}: replayed ${result.events} events`);
    console.log(`replayed ${result.events} events into ${names} in ${seconds.toFixed(2)} s (${rate(result.events, seconds)} events/s)`);
  } finally {
    await eventStore.close();
    await readModels.close();
    await content.close();
  }
};
