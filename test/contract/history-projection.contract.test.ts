import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryStore } from '../../ports/read-models.ts';
import { historyProjector } from '../../projections/history/projector.ts';
import { requireEngines } from '../support/engines.ts';
import { fresh } from '../support/history.ts';
import { projectionSpec, type Backend } from '../support/projection-spec.ts';
import { cassandraHistory, sqliteReadModels, storeOf } from '../support/read-model-backends.ts';
import { added, created, deleted, edited, reacted, read, removed, sent, unreacted, T0, uid } from '../support/events.ts';

const env = await requireEngines('cassandra');

// Redis holds no history: SQLite embedded, Cassandra in the cluster.
const backends: Backend<HistoryStore>[] = [
  { name: 'sqlite', open: () => sqliteReadModels().then(storeOf('history')) },
  { name: 'cassandra', open: () => cassandraHistory(env) },
];

const seqs = (messages: Array<{ seq: number }>) => messages.map((m) => m.seq);

for (const backend of backends) {
  describe(`history projection specs: ${backend.name}`, () => {
    const given = projectionSpec(historyProjector, backend.open);
    const people = () => ({ g: uid('g'), a: uid('alice'), b: uid('bob'), c: uid('carol') });

    it("given messages among membership and receipt events, then history holds each message with its log position and without the sender's device", async () => {
      const { g, a, b } = people();
      await given([
        created(g, [a, b]),
        sent(g, 1, a, { device: 'laptop' }),
        read(g, b, 1),
        sent(g, 2, b, { contentType: 'media', content: '{"media_id":"m"}' }),
        removed(g, b),
      ]).then(async (history, log) => {
        assert.deepEqual(await history.page(g, { limit: 10 }), [
          fresh({
            conversation_id: g,
            seq: 1,
            message_id: `m-1-${g}`,
            sender_id: a,
            client_msg_id: 'k-1',
            content: 'message 1',
            content_type: 'text',
            timestamp: T0 + 1,
            position: log[1]!.position,
          }),
          fresh({
            conversation_id: g,
            seq: 2,
            message_id: `m-2-${g}`,
            sender_id: b,
            client_msg_id: 'k-2',
            content: '{"media_id":"m"}',
            content_type: 'media',
            timestamp: T0 + 2,
            position: log[3]!.position,
          }),
        ]);
        assert.deepEqual(seqs(await history.afterPosition(g, log[1]!.position, log.at(-1)!.position, 10)), [2]);
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
      await given([created(g, [a, b]), sent(g, 1, a)])
        .when([sent(g, 2, b), sent(g, 3, a)], { times: 2 })
        .then(async (history) => {
          assert.deepEqual(seqs(await history.page(g, { limit: 10 })), [1, 2, 3]);
        });
    });

    it('given two messages, when the first is edited, then it shows the new text and when it was edited, and sync finds it changed', async () => {
      const { g, a } = people();
      await given([created(g, [a]), sent(g, 1, a, { mentions: [a] }), sent(g, 2, a)])
        .when([edited(g, 1, a, 'one, fixed', { at: T0 + 50 })])
        .then(async (history, log) => {
          const [first, second] = await history.page(g, { limit: 10 });
          assert.deepEqual(first, {
            ...fresh({
              conversation_id: g,
              seq: 1,
              message_id: `m-1-${g}`,
              sender_id: a,
              client_msg_id: 'k-1',
              content: 'one, fixed',
              content_type: 'text',
              timestamp: T0 + 1,
              position: log[1]!.position,
              mentions: [a],
            }),
            edited_at: T0 + 50,
            updated_position: log[3]!.position,
          });
          assert.equal(second?.edited_at, null);
          assert.deepEqual(seqs(await history.changedAfter(g, log[2]!.position, log[3]!.position, 10)), [1]);
          assert.deepEqual(seqs(await history.changedAfter(g, log[3]!.position, log[3]!.position, 10)), []);
        });
    });

    it('given an edited message with mentions and reactions, when it is deleted, then its text, mentions and reactions are gone, and sync finds it changed', async () => {
      const { g, a, b } = people();
      await given([
        created(g, [a, b]),
        sent(g, 1, a, { content: 'secret', mentions: [b] }),
        reacted(g, 1, b, '👍'),
        edited(g, 1, a, 'still secret'),
        sent(g, 2, b),
      ])
        .when([deleted(g, 1, a)])
        .then(async (history, log) => {
          const [message, next] = await history.page(g, { limit: 10 });
          const { content, mentions, reactions, deleted: gone, message_id, position } = message!;
          assert.deepEqual(
            { content, mentions, reactions, deleted: gone, message_id, position },
            { content: '', mentions: [], reactions: [], deleted: true, message_id: `m-1-${g}`, position: log[1]!.position },
          );
          assert.equal(next?.deleted, false);
          assert.deepEqual(
            seqs(await history.changedAfter(g, log[4]!.position, log[5]!.position, 10)),
            [1],
            'the delete is where sync sends the message again',
          );
        });
    });

    it('given reactions added and removed, then each emoji shows its count and reactors, and a removed reaction is gone', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a), sent(g, 2, a)])
        .when([reacted(g, 1, b, '👍'), reacted(g, 1, c, '👍'), reacted(g, 1, b, '❤️'), unreacted(g, 1, b, '❤️'), reacted(g, 1, c, '🎉'), reacted(g, 2, a, '👍')])
        .then(async (history, log) => {
          const [first, second] = await history.page(g, { limit: 10 });
          assert.deepEqual(first?.reactions, [
            { emoji: '👍', count: 2, user_ids: [b, c] },
            { emoji: '🎉', count: 1, user_ids: [c] },
          ]);
          assert.deepEqual(second?.reactions, [{ emoji: '👍', count: 1, user_ids: [a] }]);
          assert.equal(first?.updated_position, log.at(-2)!.position, 'a reaction is a change sync sends');
        });
    });

    it('given replies to a message, then it counts them and lists them in order, after a given seq', async () => {
      const { g, a, b } = people();
      await given([
        created(g, [a, b]),
        sent(g, 1, a),
        sent(g, 2, b, { replyTo: 1 }),
        sent(g, 3, a),
        sent(g, 4, a, { replyTo: 1 }),
        sent(g, 5, b, { replyTo: 3 }),
      ]).then(async (history) => {
        const page = await history.page(g, { limit: 10 });
        assert.deepEqual(
          page.map((m) => [m.seq, m.reply_to_seq, m.reply_count]),
          [
            [1, null, 2],
            [2, 1, 0],
            [3, null, 1],
            [4, 1, 0],
            [5, 3, 0],
          ],
        );
        assert.deepEqual(seqs(await history.replies(g, 1, { after: 0, limit: 10 })), [2, 4]);
        assert.deepEqual(seqs(await history.replies(g, 1, { after: 2, limit: 10 })), [4]);
        assert.deepEqual(seqs(await history.replies(g, 2, { after: 0, limit: 10 })), []);
      });
    });

    it("given a conversation's messages, edits, deletes, replies and reactions, then redelivering them whole, from any event or one event per batch changes nothing", async () => {
      const { g, a, b } = people();
      const other = uid('g');
      const story = [
        created(g, [a, b]),
        sent(g, 1, a),
        sent(other, 1, b),
        sent(g, 2, b, { replyTo: 1, mentions: [a] }),
        read(g, a, 2),
        edited(g, 1, a, 'one, fixed'),
        reacted(g, 1, b, '👍'),
        sent(g, 3, a),
        edited(g, 1, a, 'one, fixed again'),
        reacted(g, 2, a, '❤️'),
        edited(g, 2, b, 'two, edited'),
        deleted(g, 2, b),
        unreacted(g, 1, b, '👍'),
        reacted(g, 1, a, '🎉'),
        sent(other, 2, a, { replyTo: 1 }),
      ];
      await given(story).thenReplaysChangeNothing(
        async (history) =>
          Promise.all([
            history.page(g, { limit: 10 }),
            history.page(other, { limit: 10 }),
            history.afterPosition(g, 0, 1_000, 10),
            history.changedAfter(g, 0, 1_000, 10),
          ]),
        ([ofG, ofOther]) => {
          assert.deepEqual(
            ofG.map((m) => [m.seq, m.content, m.deleted, m.reply_count, m.reactions.map((r) => r.emoji)]),
            [
              [1, 'one, fixed again', false, 1, ['🎉']],
              [2, '', true, 0, []],
              [3, 'message 3', false, 0, []],
            ],
          );
          assert.deepEqual(
            ofOther.map((m) => [m.seq, m.reply_count]),
            [
              [1, 1],
              [2, 0],
            ],
          );
        },
      );
    });
  });
}
