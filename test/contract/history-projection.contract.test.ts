import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryStore } from '../../ports/read-models.ts';
import { historyProjector } from '../../projections/history/projector.ts';
import { requireEngines } from '../support/engines.ts';
import { projectionSpec, type Backend } from '../support/projection-spec.ts';
import { cassandraHistory, sqliteReadModels, storeOf } from '../support/read-model-backends.ts';
import { added, created, read, removed, sent, T0, uid } from '../support/events.ts';

const env = await requireEngines('cassandra');

// Redis holds no history: SQLite embedded, Cassandra in the cluster.
const backends: Backend<HistoryStore>[] = [
  { name: 'sqlite', open: () => sqliteReadModels().then(storeOf('history')) },
  { name: 'cassandra', open: () => cassandraHistory(env) },
];

for (const backend of backends) {
  describe(`history projection specs: ${backend.name}`, () => {
    const given = projectionSpec(historyProjector, backend.open);
    const people = () => ({ g: uid('g'), a: uid('alice'), b: uid('bob') });

    it('given messages among membership and receipt events, then history holds each message with its log position and without the sender\'s device', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a, { device: 'laptop' }), read(g, b, 1), sent(g, 2, b, { contentType: 'media', content: '{"media_id":"m"}' }), removed(g, b)])
        .then(async (history, log) => {
          assert.deepEqual(await history.page(g, { limit: 10 }), [
            { conversation_id: g, seq: 1, message_id: `m-1-${g}`, sender_id: a, client_msg_id: 'k-1', content: 'message 1', content_type: 'text', timestamp: T0 + 1, position: log[1]!.position },
            { conversation_id: g, seq: 2, message_id: `m-2-${g}`, sender_id: b, client_msg_id: 'k-2', content: '{"media_id":"m"}', content_type: 'media', timestamp: T0 + 2, position: log[3]!.position },
          ]);
          assert.deepEqual((await history.afterPosition(g, log[1]!.position, log.at(-1)!.position, 10)).map((m) => m.seq), [2]);
        });
    });

    it('given only membership events, then the history is empty', async () => {
      const { g, a, b } = people();
      await given([created(g, [a]), added(g, [b]), removed(g, a)]).then(async (history) => {
        assert.deepEqual(await history.page(g, { limit: 10 }), []);
      });
    });

    it('given a batch of messages delivered twice, then each message is stored once', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a)]).when([sent(g, 2, b), sent(g, 3, a)], { times: 2 }).then(async (history) => {
        assert.deepEqual((await history.page(g, { limit: 10 })).map((m) => m.seq), [1, 2, 3]);
      });
    });

    it('given a conversation\'s messages, then redelivering them whole, from any event or one event per batch changes nothing', async () => {
      const { g, a, b } = people();
      const other = uid('g');
      const story = [created(g, [a, b]), sent(g, 1, a), sent(other, 1, b), sent(g, 2, b), read(g, a, 2), sent(g, 3, a), sent(other, 2, a)];
      await given(story).thenReplaysChangeNothing(
        async (history) => Promise.all([history.page(g, { limit: 10 }), history.page(other, { limit: 10 }), history.afterPosition(g, 0, 1_000, 10)]),
        ([ofG, ofOther]) => assert.deepEqual([ofG.map((m) => m.seq), ofOther.map((m) => m.seq)], [[1, 2, 3], [1, 2]]),
      );
    });
  });
}
