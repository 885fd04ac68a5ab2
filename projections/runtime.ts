import type { EventStore, RecordedEvent } from '../ports/event-store.ts';
import type { CheckpointStore } from '../ports/read-models.ts';
import type { NatterEvent } from '../contracts/events.ts';

export type Recorded = RecordedEvent<NatterEvent>;

/** Builds a read model. `handle` must be idempotent: input is at-least-once. */
export type Projector = { name: string; handle(events: Recorded[]): Promise<void>; reset(): Promise<void> };

/** Reacts to events after every projector has applied them (fan-out, push); keeps no checkpoint. */
export type Reactor = { name: string; react(events: Recorded[]): void | Promise<void> };

export type ProjectionLog = { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };

export type ProjectionRuntime = {
  /** Position through which every projector has applied the log. */
  position(): number;
  /** Resolves once every projector has applied the log through `position`. */
  caughtUp(position: number): Promise<void>;
  stop(): Promise<void>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One subscription to the global log feeds every projector in turn, then the reactors. A projector
 * that fails is retried with backoff on the same batch: the log is never skipped, so a read model
 * can lag but never lose an event. The checkpoint is saved after the read model is written; a crash
 * in between replays the batch, which idempotent writes absorb.
 */
export const startProjections = async (options: {
  eventStore: EventStore;
  checkpoints: CheckpointStore;
  projectors: Projector[];
  reactors?: Reactor[];
  batchSize?: number;
  log: ProjectionLog;
}): Promise<ProjectionRuntime> => {
  const { eventStore, checkpoints, projectors, reactors = [], batchSize = 1000, log } = options;
  const applied = new Map<string, number>();
  for (const p of projectors) applied.set(p.name, await checkpoints.get(p.name));
  let position = Math.min(...applied.values(), await eventStore.headPosition());
  const waiters: Array<{ position: number; resolve(): void }> = [];

  const apply = async (projector: Projector, batch: Recorded[]) => {
    const from = applied.get(projector.name)!;
    const pending = from > 0 ? batch.filter((e) => e.position > from) : batch;
    if (pending.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await projector.handle(pending);
        const last = pending[pending.length - 1]!.position;
        await checkpoints.set(projector.name, last);
        applied.set(projector.name, last);
        return;
      } catch (error) {
        log.error({ err: error, projector: projector.name, attempt }, 'projector failed; retrying the batch');
        await sleep(Math.min(5_000, 50 * 2 ** attempt));
      }
    }
  };

  const subscription = eventStore.subscribeToAll({
    after: position,
    maxBatch: batchSize,
    onEvents: async (events) => {
      const batch = events as Recorded[];
      for (const projector of projectors) await apply(projector, batch);
      position = batch[batch.length - 1]!.position;
      for (const reactor of reactors) {
        try { await reactor.react(batch); } catch (error) { log.warn({ err: error, reactor: reactor.name }, 'reactor failed; clients recover by sync'); }
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.position <= position) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    onError: (error) => log.error({ err: error }, 'projection subscription stopped'),
  });

  return {
    position: () => position,
    caughtUp: (target) => target <= position ? Promise.resolve() : new Promise((resolve) => waiters.push({ position: target, resolve })),
    stop: () => subscription.stop(),
  };
};

/** Rebuilds one projector from position 0: reset, then the whole log in batches. */
export const rebuild = async (options: {
  eventStore: EventStore; checkpoints: CheckpointStore; projector: Projector; batchSize?: number;
  onProgress?(position: number, count: number): void;
}): Promise<{ events: number; position: number }> => {
  const { eventStore, checkpoints, projector, batchSize = 10_000, onProgress } = options;
  await projector.reset();
  await checkpoints.set(projector.name, 0);
  let position = 0;
  let count = 0;
  for (;;) {
    const batch = (await eventStore.readAll({ after: position, maxCount: batchSize })) as Recorded[];
    if (batch.length === 0) break;
    await projector.handle(batch);
    position = batch[batch.length - 1]!.position;
    count += batch.length;
    await checkpoints.set(projector.name, position);
    onProgress?.(position, count);
  }
  return { events: count, position };
};
