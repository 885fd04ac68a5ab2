import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WrongExpectedRevision, type EventStore, type RecordedEvent } from '../../ports/event-store.ts';

/**
 * The event-store contract: every adapter runs this file unchanged. `open` returns a store over an
 * empty or shared backend; tests use fresh stream names so adapters may share one server.
 */
export const eventStoreContract = (name: string, open: () => Promise<EventStore>) => {
  describe(`event store contract: ${name}`, () => {
    let store: EventStore;
    const stream = () => `conversation-${randomUUID()}`;
    const ev = (n: number) => ({ type: 'Tested', data: { n, text: `héllo ✓ ${n}`, nested: { list: [1, 2, n] } } });

    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    it('appends to a new stream with no_stream and reads it back forwards', async () => {
      const s = stream();
      const result = await store.appendToStream(s, [ev(1), ev(2)], { expectedRevision: 'no_stream' });
      assert.equal(result.nextRevision, 1);
      const events = await store.readStream(s);
      assert.deepEqual(
        events.map((e) => [e.revision, e.type, (e.data as { n: number }).n]),
        [
          [0, 'Tested', 1],
          [1, 'Tested', 2],
        ],
      );
      assert.deepEqual(events[0]!.data, ev(1).data);
      assert.ok(events[0]!.position < events[1]!.position);
      assert.equal(result.position, events[1]!.position);
    });

    it('keeps any text as it was given: quotes, backslashes, SQL, control characters, emoji, in names, data and metadata', async () => {
      const hostile = `it's "quoted" \\ back\\slash \\' '); DROP TABLE events; -- $1 $$ \u0001\t\n 🎉 ﬁ`;
      const s = `user-${hostile}-${randomUUID()}`;
      const event = { type: `Tested'${hostile}`, data: { text: hostile, [hostile]: [hostile] }, metadata: { note: hostile } };
      await store.appendToStream(s, [event, ev(2)], { expectedRevision: 'no_stream' });
      const [first, second] = await store.readStream(s);
      assert.equal(first!.stream, s);
      assert.equal(first!.type, event.type);
      assert.deepEqual(first!.data, event.data);
      assert.equal((first!.metadata as { note: string }).note, hostile);
      assert.deepEqual(second!.data, ev(2).data);
      assert.equal((await store.readAll({ after: first!.position - 1, maxCount: 1 }))[0]!.stream, s);
    });

    it('refuses a wrong expected revision and appends nothing', async () => {
      const s = stream();
      await store.appendToStream(s, [ev(1)], { expectedRevision: 'no_stream' });
      await assert.rejects(store.appendToStream(s, [ev(2)], { expectedRevision: 'no_stream' }), WrongExpectedRevision);
      await assert.rejects(store.appendToStream(s, [ev(2)], { expectedRevision: 5 }), WrongExpectedRevision);
      await assert.rejects(store.appendToStream(stream(), [ev(2)], { expectedRevision: 'stream_exists' }), WrongExpectedRevision);
      await assert.rejects(store.appendToStream(stream(), [ev(2)], { expectedRevision: 0 }), WrongExpectedRevision);
      assert.equal((await store.readStream(s)).length, 1);
      await store.appendToStream(s, [ev(2)], { expectedRevision: 0 });
      await store.appendToStream(s, [ev(3)], { expectedRevision: 'stream_exists' });
      await store.appendToStream(s, [ev(4)], { expectedRevision: 'any' });
      assert.deepEqual(
        (await store.readStream(s)).map((e) => e.revision),
        [0, 1, 2, 3],
      );
    });

    it('lets exactly one of many racing appends with the same expected revision win', async () => {
      const s = stream();
      await store.appendToStream(s, [ev(0)], { expectedRevision: 'no_stream' });
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.appendToStream(s, [ev(i)], { expectedRevision: 0 })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof WrongExpectedRevision);
      assert.equal((await store.readStream(s)).length, 2);
    });

    it('fails appends pipelined behind a failed append to the same stream', async () => {
      const s = stream();
      await store.appendToStream(s, [ev(0)], { expectedRevision: 'no_stream' });
      // The second append was decided on top of the first: it must not land when the first fails,
      // even though its expected revision happens to match the stream.
      const [first, second, other] = await Promise.allSettled([
        store.appendToStream(s, [ev(1)], { expectedRevision: 'no_stream' }),
        store.appendToStream(s, [ev(2)], { expectedRevision: 0 }),
        store.appendToStream(s, [ev(3)], { expectedRevision: 'any' }),
      ]);
      assert.equal(first.status, 'rejected');
      assert.equal(second.status, 'rejected');
      assert.equal(other.status, 'fulfilled');
      assert.deepEqual(
        (await store.readStream(s)).map((e) => (e.data as { n: number }).n),
        [0, 3],
      );
    });

    it('keeps every append of a concurrent burst over many streams, each stream gapless', async () => {
      const streams = Array.from({ length: 20 }, stream);
      await Promise.all(streams.flatMap((s) => Array.from({ length: 10 }, (_, i) => store.appendToStream(s, [ev(i)]))));
      for (const s of streams)
        assert.deepEqual(
          (await store.readStream(s)).map((e) => e.revision),
          [...Array(10).keys()],
        );
    });

    it('reads a stream backwards, from a revision, with a max count; a missing stream is empty', async () => {
      const s = stream();
      await store.appendToStream(s, [ev(0), ev(1), ev(2), ev(3), ev(4)]);
      assert.deepEqual(
        (await store.readStream(s, { direction: 'backwards', maxCount: 2 })).map((e) => e.revision),
        [4, 3],
      );
      assert.deepEqual(
        (await store.readStream(s, { direction: 'backwards', fromRevision: 2 })).map((e) => e.revision),
        [2, 1, 0],
      );
      assert.deepEqual(
        (await store.readStream(s, { fromRevision: 3 })).map((e) => e.revision),
        [3, 4],
      );
      assert.deepEqual(
        (await store.readStream(s, { fromRevision: 1, maxCount: 2 })).map((e) => e.revision),
        [1, 2],
      );
      assert.deepEqual(await store.readStream(stream()), []);
    });

    it('reads all events after a position in increasing position order', async () => {
      const head = await store.headPosition();
      const s = stream();
      await store.appendToStream(s, [ev(1), ev(2), ev(3)]);
      const all = await store.readAll({ after: head, maxCount: 1000 });
      const mine = all.filter((e) => e.stream === s);
      assert.deepEqual(
        mine.map((e) => e.revision),
        [0, 1, 2],
      );
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
      assert.ok((await store.headPosition()) >= mine[2]!.position);
      const afterFirst = await store.readAll({ after: mine[0]!.position, maxCount: 1 });
      assert.equal(afterFirst.length, 1);
      assert.ok(afterFirst[0]!.position > mine[0]!.position);
    });

    it('subscribes to all: catches up from a position, then goes live, with no gap or duplicate', async () => {
      const s = stream();
      const start = await store.headPosition();
      await store.appendToStream(s, [ev(1), ev(2)]);
      const seen: RecordedEvent[] = [];
      let done!: () => void;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const subscription = store.subscribeToAll({
        after: start,
        maxBatch: 2,
        onEvents: async (events) => {
          seen.push(...events);
          if (seen.filter((e) => e.stream === s).length >= 6) done();
        },
      });
      await store.appendToStream(s, [ev(3)]);
      await Promise.all([store.appendToStream(s, [ev(4)]), store.appendToStream(stream(), [ev(0)])]);
      await store.appendToStream(s, [ev(5), ev(6)]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        finished,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('subscription timed out')), 10_000);
        }),
      ]);
      clearTimeout(timer);
      await subscription.stop();
      const positions = seen.map((e) => e.position);
      assert.deepEqual(
        positions,
        [...new Set(positions)].sort((a, b) => a - b),
        'positions strictly increasing, no duplicates',
      );
      assert.deepEqual(
        seen.filter((e) => e.stream === s).map((e) => e.revision),
        [0, 1, 2, 3, 4, 5],
      );
    });

    it('stops a subscription so that it delivers nothing more', async () => {
      const seen: RecordedEvent[] = [];
      const subscription = store.subscribeToAll({
        after: await store.headPosition(),
        onEvents: (events) => {
          seen.push(...events);
        },
      });
      await subscription.stop();
      await store.appendToStream(stream(), [ev(1)]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(seen.length, 0);
    });
  });
};
