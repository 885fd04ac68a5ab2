import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatterEvent } from '../../contracts/events.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';
import { recorder } from './events.ts';

/** A store on a real backend, and how to give the backend back. */
export type Opened<S> = { store: S; close(): Promise<void> };
export type Backend<S> = { name: string; open(): Promise<Opened<S>> };

type Check<S> = (store: S, log: Recorded[]) => Promise<void>;

export type ProjectionOutcome<S> = {
  /** Applies the events, then checks the read model; `log` is every event as recorded, with its position. */
  then(check: Check<S>): Promise<void>;
};

export type ProjectionGiven<S> = ProjectionOutcome<S> & {
  /**
   * Events applied after the given ones, as one batch; `times: 2` delivers that batch twice, as an
   * at-least-once log does after a crash between applying a batch and saving its checkpoint.
   */
  when(events: NatterEvent[], options?: { times?: number }): ProjectionOutcome<S>;
  /**
   * Applies the given events, reads `snapshot`, then redelivers them (the whole log as one batch, every
   * suffix, one event per batch) and checks that the snapshot never changes. `snapshot` should show
   * enough that a projector writing nothing would fail the spec's own assertions on it.
   */
  thenReplaysChangeNothing<T>(snapshot: (store: S) => Promise<T>, check?: (once: T) => void): Promise<void>;
};

/**
 * emmett's projection specs for Natter: given these events, applied by the real projector into a real
 * adapter, (when these,) then the read model holds this. Call it inside a `describe`: it opens the
 * backend before the specs and closes it after; each spec uses fresh ids, so they share the store.
 *
 *   const given = projectionSpec(inboxProjector, sqliteInbox);
 *   it('…', () => given([created(g, [a, b]), sent(g, 1, a)]).when([read(g, b, 1)]).then(async (inbox) => …));
 */
export const projectionSpec = <S>(projector: (store: S) => Projector, open: () => Promise<Opened<S>>) => {
  let opened: Opened<S> | undefined;
  before(async () => {
    opened = await open();
  });
  after(async () => {
    await opened?.close();
  });
  const store = () => {
    assert.ok(opened, 'the backend is open (projectionSpec must be called inside a describe)');
    return opened.store;
  };
  const apply = async (events: Recorded[]) => {
    if (events.length > 0) await projector(store()).handle(events);
  };

  return (given: NatterEvent[] = []): ProjectionGiven<S> => {
    const record = recorder();
    const past = record(given);
    const outcome = (events: Recorded[], times: number): ProjectionOutcome<S> => ({
      then: async (check) => {
        await apply(past);
        for (let i = 0; i < times; i++) await apply(events);
        await check(store(), [...past, ...events]);
      },
    });
    return {
      ...outcome([], 0),
      when: (events, options = {}) => outcome(record(events), options.times ?? 1),
      thenReplaysChangeNothing: async (snapshot, check) => {
        await apply(past);
        const once = await snapshot(store());
        check?.(once);
        await apply(past);
        assert.deepEqual(await snapshot(store()), once, 'the whole log redelivered as one batch');
        for (let from = 1; from < past.length; from++) {
          await apply(past.slice(from));
          assert.deepEqual(await snapshot(store()), once, `the log redelivered from event ${from} (${past[from]!.type})`);
        }
        for (const event of past) await apply([event]);
        assert.deepEqual(await snapshot(store()), once, 'the log redelivered one event per batch');
      },
    };
  };
};
