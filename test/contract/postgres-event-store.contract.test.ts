import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPostgresEventStore } from '../../adapters/postgres/event-store.ts';
import { WrongExpectedRevision, type EventStore, type RecordedEvent } from '../../ports/event-store.ts';
import { requireEngines } from '../support/engines.ts';
import { eventStoreContract } from './event-store.contract.ts';

const { NATTER_PG_URL: connectionString } = await requireEngines('postgres');
// A fresh schema per run, so parallel runs (and other engineers) never share a table.
const schema = `natter_test_${randomBytes(6).toString('hex')}`;
const open = (options: { poolSize?: number } = {}) => createPostgresEventStore({ connectionString, schema, ...options });

after(async () => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

eventStoreContract('postgres', () => open());

describe('postgres event store: positions commit in order (the gap problem)', () => {
  it('never lets a live subscriber or a polling reader skip an event, under many concurrent writers on several connections', async () => {
    const writerStores = 6;
    const loopsPerStore = 12;
    const appendsPerLoop = 40;
    const streamsPerStore = 8;
    const eventsOf = (i: number) => (i % 5 === 0 ? 2 : 1);
    const total = writerStores * loopsPerStore * Array.from({ length: appendsPerLoop }, (_, i) => eventsOf(i)).reduce<number>((a, b) => a + b, 0);
    const tag = randomBytes(4).toString('hex');
    // Each store writes its own streams, so a failure here can only be a gap, never a conflict
    // (cross-store races on one stream have their own test below).
    const streamName = (w: number, i: number) => `gap-${tag}-${w}-${i}`;
    const mine = (e: RecordedEvent) => e.stream.startsWith(`gap-${tag}-`);
    const key = (e: RecordedEvent) => `${e.stream}#${e.revision}`;

    const observer = await open({ poolSize: 4 });
    const writers: EventStore[] = await Promise.all(Array.from({ length: writerStores }, () => open({ poolSize: 2 })));
    try {
      const start = await observer.headPosition();

      // A live subscriber: every batch must continue strictly after the previous one.
      const subscribed: RecordedEvent[] = [];
      let subscriberDone!: () => void;
      const subscriberFinished = new Promise<void>((resolve) => {
        subscriberDone = resolve;
      });
      const subscription = observer.subscribeToAll({
        after: start,
        maxBatch: 37,
        onEvents: (events) => {
          subscribed.push(...events);
          if (subscribed.filter(mine).length >= total) subscriberDone();
        },
      });

      // A reader polling "after the last position seen" as fast as it can, like a checkpointed projector.
      const polled: RecordedEvent[] = [];
      let writing = true;
      const reader = (async () => {
        let position = start;
        for (;;) {
          const stillWriting = writing;
          const batch = await observer.readAll({ after: position, maxCount: 53 });
          if (batch.length > 0) {
            polled.push(...batch);
            position = batch[batch.length - 1]!.position;
            continue;
          }
          if (!stillWriting) return;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();

      // Many writers: 6 stores (own pools, own connections, like 6 processes), each with 12
      // concurrent append loops, single- and multi-event appends, so transactions interleave.
      let acked = 0;
      await Promise.all(
        writers.flatMap((store, w) =>
          Array.from({ length: loopsPerStore }, async (_, l) => {
            for (let i = 0; i < appendsPerLoop; i++) {
              const s = streamName(w, (l * 13 + i) % streamsPerStore);
              const events =
                eventsOf(i) === 2
                  ? [
                      { type: 'Gap', data: { w, l, i, part: 0 } },
                      { type: 'Gap', data: { w, l, i, part: 1 } },
                    ]
                  : [{ type: 'Gap', data: { w, l, i } }];
              await store.appendToStream(s, events);
              acked += events.length;
              if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
            }
          }),
        ),
      );
      writing = false;
      await reader;

      let timer: NodeJS.Timeout | undefined;
      const written = (await observer.readAll({ after: start, maxCount: 1_000_000 })).filter(mine);
      assert.equal(acked, total);
      assert.equal(written.length, total);
      await Promise.race([
        subscriberFinished,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`subscriber saw ${subscribed.filter(mine).length} of ${total}`)), 15_000);
        }),
      ]);
      clearTimeout(timer);
      await subscription.stop();

      for (const [name, seen] of [
        ['subscriber', subscribed],
        ['reader', polled],
      ] as const) {
        const positions = seen.map((e) => e.position);
        for (let i = 1; i < positions.length; i++) assert.ok(positions[i]! > positions[i - 1]!, `${name}: positions strictly increasing`);
        assert.deepEqual(seen.filter(mine).map(key).sort(), written.map(key).sort(), `${name} saw every committed event exactly once`);
      }
      // Each stream is gapless and its positions grow with its revisions.
      const byStream = new Map<string, RecordedEvent[]>();
      for (const e of written) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e]);
      for (const events of byStream.values())
        assert.deepEqual(
          events.map((e) => e.revision),
          [...events.keys()],
        );
    } finally {
      await Promise.all([...writers, observer].map((store) => store.close()));
    }
  });

  it('lets exactly one of racing appends from different stores (processes) win the same expected revision', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => open({ poolSize: 2 })));
    try {
      for (let round = 0; round < 5; round++) {
        const s = `race-${randomBytes(4).toString('hex')}`;
        await stores[0]!.appendToStream(s, [{ type: 'Raced', data: { first: true } }], { expectedRevision: 'no_stream' });
        const results = await Promise.allSettled(
          stores.flatMap((store, i) => [0, 1].map((j) => store.appendToStream(s, [{ type: 'Raced', data: { i, j } }], { expectedRevision: 0 }))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof WrongExpectedRevision, String(r.reason));
        assert.deepEqual(
          (await stores[1]!.readStream(s)).map((e) => e.revision),
          [0, 1],
        );
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  // A store plans its batch on heads read without the lock, and writes it only if they have not
  // moved (adapters/postgres/event-store.ts): appends that expect any revision, racing from several
  // stores into one stream, must all land, numbered after each other, none refused.
  it('lands every one of racing appends from different stores (processes) that expect any revision, gapless', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => open({ poolSize: 2 })));
    try {
      for (let round = 0; round < 5; round++) {
        const s = `any-${randomBytes(4).toString('hex')}`;
        const results = await Promise.allSettled(
          stores.flatMap((store, i) => [0, 1, 2].map((j) => store.appendToStream(s, [{ type: 'Raced', data: { i, j } }], { expectedRevision: 'any' }))),
        );
        assert.deepEqual(
          results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])),
          [],
        );
        assert.deepEqual(
          (await stores[0]!.readStream(s)).map((e) => e.revision),
          Array.from({ length: 12 }, (_, i) => i),
        );
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  // Each store plans on the heads it wrote last (adapters/postgres/event-store.ts): one that moved in
  // another store must neither let a stale expected revision through nor leave a gap or a duplicate.
  it('given a head another store moved since this store wrote it, then a stale expectation fails and the next appends land after it', async () => {
    const [a, b] = await Promise.all([open({ poolSize: 2 }), open({ poolSize: 2 })]);
    try {
      const s = `moved-${randomBytes(4).toString('hex')}`;
      assert.equal((await a.appendToStream(s, [{ type: 'Moved', data: { by: 'a' } }], { expectedRevision: 'no_stream' })).nextRevision, 0);
      assert.equal(
        (
          await b.appendToStream(s, [
            { type: 'Moved', data: { by: 'b' } },
            { type: 'Moved', data: { by: 'b' } },
          ])
        ).nextRevision,
        2,
      );
      await assert.rejects(a.appendToStream(s, [{ type: 'Moved', data: { by: 'a', stale: true } }], { expectedRevision: 0 }), (error: unknown) => {
        assert.ok(error instanceof WrongExpectedRevision);
        assert.equal(error.actual, 2);
        return true;
      });
      assert.equal((await b.appendToStream(s, [{ type: 'Moved', data: { by: 'b' } }])).nextRevision, 3);
      assert.equal((await a.appendToStream(s, [{ type: 'Moved', data: { by: 'a' } }], { expectedRevision: 'any' })).nextRevision, 4);
      assert.equal((await a.appendToStream(s, [{ type: 'Moved', data: { by: 'a' } }], { expectedRevision: 4 })).nextRevision, 5);
      const events = await b.readStream(s);
      assert.deepEqual(
        events.map((e) => [e.revision, (e.data as { by: string }).by]),
        [
          [0, 'a'],
          [1, 'b'],
          [2, 'b'],
          [3, 'b'],
          [4, 'a'],
          [5, 'a'],
        ],
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
  it('after a batch, reads on only when notified or cut at maxBatch: appends made while a batch is handled, and the rest of a big one, come without the fallback poll', async () => {
    const writer = await open({ poolSize: 1 });
    // The fallback poll is a minute away: only notifications, or reading on, can bring the events within
    // the test's 15 s (generous: on a busy CI machine other test files share this PostgreSQL).
    const listener = await createPostgresEventStore({ connectionString, schema, poolSize: 1, pollIntervalMs: 60_000 });
    try {
      const stream = `read-on-${randomBytes(4).toString('hex')}`;
      const seen: number[] = [];
      let listening!: () => void;
      const ready = new Promise<void>((resolve) => {
        listening = resolve;
      });
      let all!: () => void;
      const done = new Promise<void>((resolve) => {
        all = resolve;
      });
      const subscription = listener.subscribeToAll({
        after: await listener.headPosition(),
        maxBatch: 2,
        onEvents: async (events) => {
          const mine = events.filter((e) => e.stream === stream).map((e) => (e.data as { n: number }).n);
          if (mine.includes(-1)) listening();
          seen.push(...mine.filter((n) => n >= 0));
          if (mine.includes(0)) {
            // Appended while this batch is handled, and notified before it ends: the loop must read again.
            await writer.appendToStream(stream, [{ type: 'Ping', data: { n: 1 } }]);
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          if (mine.includes(1)) {
            // Five in one transaction, one notification: pages of 2 must be read on to the last.
            await writer.appendToStream(
              stream,
              [2, 3, 4, 5, 6].map((n) => ({ type: 'Ping', data: { n } })),
            );
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          if (seen.length === 7) all();
        },
      });
      // An event seen before the test's own: the loop is idle and LISTEN is up (with the poll a minute
      // away, only a notification or LISTEN's own first wake-up can bring it), so both guards are in play.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await writer.appendToStream(stream, [{ type: 'Ping', data: { n: -1 } }]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ready,
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the subscriber saw nothing within 15 s')), 15_000);
        }),
      ]);
      clearTimeout(timer);
      await writer.appendToStream(stream, [{ type: 'Ping', data: { n: 0 } }]);
      await Promise.race([
        done,
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`only ${JSON.stringify(seen)} within 15 s`)), 15_000);
        }),
      ]);
      clearTimeout(timer);
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
      await subscription.stop();
    } finally {
      await Promise.all([writer.close(), listener.close()]);
    }
  });
  it('wakes a subscriber of another store (another process) through LISTEN/NOTIFY, well before the fallback poll', async () => {
    const writer = await open({ poolSize: 1 });
    const listener = await createPostgresEventStore({ connectionString, schema, poolSize: 1, pollIntervalMs: 60_000 });
    try {
      const stream = `notify-${randomBytes(4).toString('hex')}`;
      let seen!: (at: number) => void;
      const arrived = new Promise<number>((resolve) => {
        seen = resolve;
      });
      const subscription = listener.subscribeToAll({
        after: await listener.headPosition(),
        onEvents: (events) => {
          if (events.some((e) => e.stream === stream)) seen(Date.now());
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the LISTEN connection come up and the loop go idle
      const sentAt = Date.now();
      await writer.appendToStream(stream, [{ type: 'Ping', data: {} }]);
      let timer: NodeJS.Timeout | undefined;
      const at = await Promise.race([
        arrived,
        new Promise<number>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no notification within 5 s')), 5_000);
        }),
      ]);
      clearTimeout(timer);
      assert.ok(at - sentAt < 2_000, `woken after ${at - sentAt} ms`);
      await subscription.stop();
    } finally {
      await Promise.all([writer.close(), listener.close()]);
    }
  });
});
