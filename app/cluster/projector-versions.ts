import { isWatermark, type Projector, type Recorded } from '../../ports/projector.ts';
import { activeVersion, writeFrom, type RedisReadModelVersions, type VersionState } from '../../adapters/redis/read-model-versions.ts';
import type { clusterStores, VersionedProjection } from './read-models.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A projector worker's side of blue/green rebuilds (the protocol is in replay.ts). Every batch
 * first passes `gate`, which reads the shared version record once and, while `natter replay` holds
 * a fence on one of this worker's projections, holds the batch (up to `maxWaitMs`, then fails it so
 * the Kafka runtime heartbeats and retries it: a fence normally lasts well under a second). Then
 * each projection writes the batch to its active version, and to the previous one while readers
 * may still be on it, each only with the events after the position where that version was handed
 * to the workers: the replay wrote everything up to there, so no event is written to a version by
 * both, and every version sees each conversation's events in log order.
 *
 * The record is read per batch that holds an event (not watermarks alone), not cached, so a batch
 * that read it after a fence was set can never write the old version alone: that is what lets the
 * replay pick the switch position.
 */
export const versionedProjectors = async (options: {
  versions: RedisReadModelVersions;
  stores: ReturnType<typeof clusterStores>;
  /** The projections this worker runs, in the order they are applied. */
  names: VersionedProjection[];
  maxWaitMs: number;
}) => {
  const { versions, stores, names, maxWaitMs } = options;
  let state: VersionState = await versions.read(names);
  const made = new Map<string, Projector>();
  const projectorAt = (name: VersionedProjection, version: number): Projector => {
    const key = `${name}:${version}`;
    let projector = made.get(key);
    if (!projector) made.set(key, (projector = stores.projectorAt(name, version)));
    return projector;
  };

  const gate: Projector = {
    name: 'read-model-versions',
    handle: async (events) => {
      // Only watermarks (most batches of a trickle: the relay marks every partition): no version is
      // written, so there is nothing to hold and no record to read.
      if (events.every(isWatermark)) return;
      for (const deadline = Date.now() + maxWaitMs; ; ) {
        const fresh = await versions.read(names);
        if (fresh.fenced.length === 0) {
          state = fresh;
          return;
        }
        if (Date.now() > deadline) throw new Error(`natter replay is switching ${fresh.fenced.join(', ')} to a new version; the batch waits for it`);
        await sleep(20);
      }
    },
    reset: async () => {},
  };

  const projectors: Projector[] = names.map((name) => ({
    name,
    handle: async (events: Recorded[]) => {
      const active = activeVersion(state, name);
      const also = state.also[name];
      for (const version of also && also !== active ? [active, also] : [active]) {
        const from = writeFrom(state, name, version);
        const pending = from > 0 ? events.filter((e) => e.position > from) : events;
        if (pending.length > 0) await projectorAt(name, version).handle(pending);
      }
    },
    reset: () => Promise.reject(new Error(`a cluster read model is rebuilt with natter replay ${name} --cluster, not reset in place`)),
  }));

  return { gate, projectors, active: () => state.active };
};
