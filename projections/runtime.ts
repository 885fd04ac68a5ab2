import type { EventStore } from '../ports/event-store.ts';
import type { CheckpointStore } from '../ports/read-models.ts';
import type { Projector, Reactor, Recorded, ProjectionLog, ProjectionRuntime } from '../ports/projector.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type UnitOfWork = <T>(work: () => Promise<T>) => Promise<T>;
const direct: UnitOfWork = (work) => work();

/** Applies a batch to every projector and saves their checkpoints, inside one unit of work. */
const applyBatch = async (projectors: Projector[], applied: Map<string, number>, checkpoints: CheckpointStore, unitOfWork: UnitOfWork, batch: Recorded[]) => {
  const next = new Map<string, number>();
  await unitOfWork(async () => {
    for (const projector of projectors) {
      const from = applied.get(projector.name) ?? 0;
      // A batch is new to every projector but after a restart from uneven checkpoints: filter only then.
      const pending = batch[0]!.position > from ? batch : batch.filter((e) => e.position > from);
      if (pending.length === 0) continue;
      await projector.handle(pending);
      const last = pending[pending.length - 1]!.position;
      await checkpoints.set(projector.name, last);
      next.set(projector.name, last);
    }
  });
  for (const [name, position] of next) applied.set(name, position);
};

/**
 * One subscription to the global log feeds every projector in turn, then the reactors. A batch is
 * written, with the checkpoints, as one unit of work; when it fails it is retried with backoff: the
 * log is never skipped, so a read model can lag but never lose an event. Where the backend has no
 * transactions, a crash between a write and its checkpoint replays the batch, which idempotent
 * writes absorb.
 */
export const startProjections = async (options: {
  eventStore: EventStore;
  checkpoints: CheckpointStore;
  unitOfWork?: UnitOfWork;
  projectors: Projector[];
  reactors?: Reactor[];
  batchSize?: number;
  log: ProjectionLog;
}): Promise<ProjectionRuntime> => {
  const { eventStore, checkpoints, projectors, reactors = [], batchSize = 1000, log, unitOfWork = direct } = options;
  const applied = new Map<string, number>();
  for (const p of projectors) applied.set(p.name, await checkpoints.get(p.name));
  let position = Math.min(...applied.values(), await eventStore.headPosition());
  const waiters: Array<{ position: number; resolve(): void }> = [];

  const subscription = eventStore.subscribeToAll({
    after: position,
    maxBatch: batchSize,
    onEvents: async (events) => {
      const batch = events as Recorded[];
      for (let attempt = 1; ; attempt++) {
        try {
          await applyBatch(projectors, applied, checkpoints, unitOfWork, batch);
          break;
        } catch (error) {
          log.error({ err: error, attempt }, 'projection batch failed; retrying it');
          await sleep(Math.min(5_000, 50 * 2 ** attempt));
        }
      }
      position = batch[batch.length - 1]!.position;
      for (const reactor of reactors) {
        try {
          await reactor.react(batch);
        } catch (error) {
          log.warn({ err: error, reactor: reactor.name }, 'reactor failed; clients recover by sync');
        }
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.position <= position) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    onError: (error) => log.error({ err: error }, 'projection subscription stopped'),
  });

  return {
    position: () => position,
    caughtUp: (target) => (target <= position ? Promise.resolve() : new Promise((resolve) => waiters.push({ position: target, resolve }))),
    stop: () => subscription.stop(),
  };
};

/** Rebuilds projectors from position 0: reset them, then one pass over the whole log in batches. */
export const rebuild = async (options: {
  eventStore: EventStore;
  checkpoints: CheckpointStore;
  unitOfWork?: UnitOfWork;
  projectors: Projector[];
  batchSize?: number;
  onProgress?(position: number, count: number): void;
}): Promise<{ events: number; position: number }> => {
  const { eventStore, checkpoints, projectors, batchSize = 10_000, onProgress, unitOfWork = direct } = options;
  const applied = new Map<string, number>();
  for (const projector of projectors) {
    await projector.reset();
    await checkpoints.set(projector.name, 0);
    applied.set(projector.name, 0);
  }
  let position = 0;
  let count = 0;
  for (;;) {
    const batch = (await eventStore.readAll({ after: position, maxCount: batchSize })) as Recorded[];
    if (batch.length === 0) break;
    await applyBatch(projectors, applied, checkpoints, unitOfWork, batch);
    position = batch[batch.length - 1]!.position;
    count += batch.length;
    onProgress?.(position, count);
  }
  return { events: count, position };
};
