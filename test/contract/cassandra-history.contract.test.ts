import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type cassandra from 'cassandra-driver';
import type { HistoryStore, HistoryWrite, ReadModels, StoredMessage } from '../../ports/read-models.ts';
import { fresh, sends } from '../support/history.ts';
import { requireEngines } from '../support/engines.ts';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { historyTableStatements, migrate } from '../../adapters/cassandra/migrations.ts';
import { createCassandraHistoryStore } from '../../adapters/cassandra/history-store.ts';
import { readModelsContract } from './read-models.contract.ts';

const env = await requireEngines('cassandra');
const keyspace = `natter_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const connect = () => connectCassandra({ contactPoints: env.NATTER_CASSANDRA_CONTACT_POINTS.split(','), localDataCenter: env.NATTER_CASSANDRA_DC });

const admin = await connect();
await migrate(admin, keyspace, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });

after(async () => {
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
  await admin.shutdown();
});

readModelsContract('cassandra', async () => {
  const client = await connect();
  const history = createCassandraHistoryStore({ client, keyspace });
  return { history, close: () => client.shutdown() } as unknown as ReadModels;
}, ['history']);

describe('cassandra history: migrations', () => {
  it('are recorded and applied once', async () => {
    const again = await migrate(admin, keyspace, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.alreadyApplied, [1, 2]);
    const rows = await admin.execute(`SELECT version FROM ${keyspace}.schema_migrations`);
    assert.deepEqual(rows.rows.map((r) => Number(r.get('version'))).sort(), [1, 2]);
  });

  it('bring the history versions a replay built before them up to date', async () => {
    const old = `${keyspace}_old`;
    try {
      // A keyspace at migration 1 whose active history is version 2, as a replay left it.
      await admin.execute(`CREATE KEYSPACE ${old} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      for (const statement of [...historyTableStatements(old), ...historyTableStatements(old, '_v2')]) await admin.execute(statement);
      await admin.execute(`CREATE TABLE ${old}.schema_migrations (version int PRIMARY KEY, name text, applied_at timestamp)`);
      await admin.execute(`INSERT INTO ${old}.schema_migrations (version, name, applied_at) VALUES (1, 'history', toTimestamp(now()))`);
      const result = await migrate(admin, old, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
      assert.deepEqual(
        result.applied.map((m) => m.version),
        [2],
      );

      const history = createCassandraHistoryStore({ client: admin, keyspace: old, version: 2 });
      const id = `c-${randomUUID()}`;
      const sent = (seq: number, reply_to_seq: number | null) =>
        fresh({
          conversation_id: id,
          seq,
          message_id: `m${seq}`,
          sender_id: 'ann',
          client_msg_id: `k${seq}`,
          content: `hi ${seq}`,
          content_type: 'text',
          timestamp: seq,
          position: seq * 10,
          reply_to_seq,
        });
      await history.write([
        ...sends([sent(1, null), sent(2, 1)]),
        { op: 'reaction', conversation_id: id, seq: 1, emoji: '👍', user_id: 'bo', present: true, position: 30 },
      ]);
      assert.deepEqual(await history.page(id, { limit: 10 }), [
        { ...sent(1, null), reply_count: 1, reactions: [{ emoji: '👍', count: 1, user_ids: ['bo'] }], updated_position: 30 },
        sent(2, 1),
      ]);
    } finally {
      await admin.execute(`DROP KEYSPACE IF EXISTS ${old}`);
    }
  });
});

describe('cassandra history: many buckets (bucket size 4)', () => {
  let client: cassandra.Client;
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await client.shutdown();
  });

  const T0 = 1_700_000_000_000;
  // Positions are sparse and interleaved with another conversation's, as in the real log.
  const message = (id: string, seq: number): StoredMessage =>
    fresh({
      conversation_id: id,
      seq,
      message_id: `m-${seq}`,
      sender_id: 'alice',
      client_msg_id: `k-${seq}`,
      content: `message ${seq}`,
      content_type: 'text',
      timestamp: T0 + seq,
      position: seq * 10 + 3,
    });
  const seqs = (ms: StoredMessage[]) => ms.map((m) => m.seq);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('pages back and forward across buckets, and afterPosition crosses buckets', async () => {
    const history = createCassandraHistoryStore({ client, keyspace, bucketSize: 4 });
    const id = `c-${randomUUID()}`;
    const all = range(1, 23).map((seq) => message(id, seq)); // buckets 0..5
    // Written out of order and in pieces, with a replayed piece, as at-least-once delivery may.
    await history.write(sends(all.slice(10)));
    await history.write(sends(all.slice(0, 12)));
    await history.write(sends(all.slice(5, 9)));

    assert.deepEqual(seqs(await history.page(id, { limit: 6 })), range(18, 23), 'newest page spans buckets 4 and 5');
    assert.deepEqual(seqs(await history.page(id, { before: 14, limit: 9 })), range(5, 13), 'before, across three buckets');
    assert.deepEqual(seqs(await history.page(id, { after: 2, limit: 9 })), range(3, 11), 'after, across three buckets');
    assert.deepEqual(seqs(await history.page(id, { after: 2, before: 20, limit: 100 })), range(3, 19));
    assert.deepEqual(seqs(await history.page(id, { before: 1_000, limit: 3 })), [21, 22, 23]);
    assert.deepEqual(seqs(await history.page(id, { after: 23, limit: 3 })), []);

    for (const size of [1, 3, 4, 5, 7]) {
      const back: number[] = [];
      for (let p = await history.page(id, { limit: size }); p.length > 0; p = await history.page(id, { before: p[0]!.seq, limit: size }))
        back.unshift(...seqs(p));
      const forward: number[] = [];
      for (let p = await history.page(id, { after: 0, limit: size }); p.length > 0; p = await history.page(id, { after: p.at(-1)!.seq, limit: size }))
        forward.push(...seqs(p));
      assert.deepEqual(back, range(1, 23), `backwards by ${size}`);
      assert.deepEqual(forward, range(1, 23), `forwards by ${size}`);
    }

    assert.deepEqual(await history.afterPosition(id, 0, 10_000, 100), all, 'everything, from bucket 0');
    assert.deepEqual(seqs(await history.afterPosition(id, 0, 10_000, 5)), range(1, 5));
    // after = position of seq 6 (63): starts in bucket 1, runs through bucket 4.
    assert.deepEqual(seqs(await history.afterPosition(id, 63, 10_000, 10)), range(7, 16));
    assert.deepEqual(seqs(await history.afterPosition(id, 64, 175, 100)), range(7, 17), 'between positions, inclusive upTo');
    assert.deepEqual(seqs(await history.afterPosition(id, 200, 10_000, 100)), range(20, 23), 'recent cursor: newest bucket first');
    assert.deepEqual(seqs(await history.afterPosition(id, 233, 10_000, 100)), []);
    assert.deepEqual(seqs(await history.afterPosition(id, 0, 12, 100)), []);
    // A sync loop: pages of 3, each starting after the last position returned.
    const synced: number[] = [];
    for (let cursor = 0; ; ) {
      const p = await history.afterPosition(id, cursor, 10_000, 3);
      if (p.length === 0) break;
      synced.push(...seqs(p));
      cursor = p.at(-1)!.position;
    }
    assert.deepEqual(synced, range(1, 23));
  });

  it('a conflicting replay across buckets changes nothing, and its stale index entry is skipped', async () => {
    const history = createCassandraHistoryStore({ client, keyspace, bucketSize: 4 });
    const id = `c-${randomUUID()}`;
    const all = range(1, 10).map((seq) => message(id, seq));
    await history.write(sends(all));
    await history.write(sends([{ ...message(id, 5), content: 'changed', position: 66 }]));
    assert.deepEqual(await history.page(id, { limit: 100 }), all);
    assert.deepEqual(await history.afterPosition(id, 0, 1_000, 100), all);
    assert.deepEqual(seqs(await history.afterPosition(id, 63, 1_000, 1)), [7], 'the stale entry (66 → seq 5) does not use up the limit');
  });

  describe('changes across buckets, in any order', () => {
    const edit = (id: string, seq: number, content: string, position: number): HistoryWrite => ({
      op: 'edit',
      conversation_id: id,
      seq,
      content,
      edited_at: T0 + position,
      position,
    });
    const react = (id: string, seq: number, emoji: string, user: string, present: boolean, position: number): HistoryWrite => ({
      op: 'reaction',
      conversation_id: id,
      seq,
      emoji,
      user_id: user,
      present,
      position,
    });
    /** Messages 1-14 but 9, which is never sent and yet edited; replies across buckets; changes of every kind. */
    const story = (id: string): HistoryWrite[] => [
      ...sends(
        range(1, 14)
          .filter((seq) => seq !== 9)
          .map((seq) =>
            fresh({
              ...message(id, seq),
              reply_to_seq: ({ 6: 1, 11: 1, 13: 6 } as Record<number, number>)[seq] ?? null,
              mentions: seq === 2 ? ['bob'] : [],
            }),
          ),
      ),
      edit(id, 2, 'first', 200),
      edit(id, 2, 'second', 210),
      react(id, 1, '👍', 'bob', true, 220),
      react(id, 1, '👍', 'carol', true, 230),
      react(id, 1, '🎉', 'bob', true, 240),
      react(id, 1, '🎉', 'bob', false, 250),
      react(id, 5, '❤️', 'dan', true, 260),
      { op: 'delete', conversation_id: id, seq: 2, position: 270 },
      edit(id, 2, 'sneaky', 280),
      edit(id, 9, 'ghost', 290),
      react(id, 10, '👍', 'bob', true, 300),
    ];
    const state = async (history: HistoryStore, id: string) =>
      JSON.parse(
        JSON.stringify({
          page: await history.page(id, { limit: 100 }),
          changed: await history.changedAfter(id, 143, 1_000, 100),
          after: await history.afterPosition(id, 0, 1_000, 100),
          replies: [await history.replies(id, 1, { after: 0, limit: 10 }), await history.replies(id, 6, { after: 0, limit: 10 })],
        }).replaceAll(id, 'ID'),
      );

    it('ends in the same state whether applied in one batch, op by op backwards, or changes first with replays', async () => {
      const history = createCassandraHistoryStore({ client, keyspace, bucketSize: 4 });
      const [a, b, c] = [`c-${randomUUID()}`, `c-${randomUUID()}`, `c-${randomUUID()}`];
      await history.write(story(a));
      for (const op of story(b).reverse()) await history.write([op]);
      const ops = story(c);
      const changes = ops.filter((op) => op.op !== 'message');
      await history.write(changes.filter((_, i) => i % 2 === 1));
      await history.write(changes);
      await history.write(ops.filter((op) => op.op === 'message'));
      await history.write(changes.slice(0, 3));

      const expected = await state(history, a);
      assert.deepEqual(await state(history, b), expected);
      assert.deepEqual(await state(history, c), expected);

      // What the shared state is, so that the comparison is not vacuous.
      const page = await history.page(a, { limit: 100 });
      assert.deepEqual(seqs(page), [...range(1, 8), ...range(10, 14)], 'the edited message that was never sent is not shown');
      const bySeq = new Map(page.map((m) => [m.seq, m]));
      assert.deepEqual(bySeq.get(1)!.reactions, [{ emoji: '👍', count: 2, user_ids: ['bob', 'carol'] }]);
      assert.equal(bySeq.get(1)!.reply_count, 2);
      assert.equal(bySeq.get(6)!.reply_count, 1);
      assert.deepEqual([bySeq.get(2)!.content, bySeq.get(2)!.mentions, bySeq.get(2)!.deleted], ['', [], true]);
      assert.deepEqual(seqs(await history.replies(a, 1, { after: 0, limit: 10 })), [6, 11], "replies in two buckets after their parent's");
      assert.deepEqual(seqs(await history.changedAfter(a, 143, 1_000, 100)), [1, 5, 2, 10]);
      assert.deepEqual(seqs(await history.page(a, { after: 7, limit: 2 })), [8, 10], 'the row only a change wrote takes no place in a page');
      assert.deepEqual(seqs(await history.page(a, { before: 11, limit: 2 })), [8, 10]);
    });

    it('skips the stale change entries of a message changed in many batches, and blanks a deleted text on disk', async () => {
      const history = createCassandraHistoryStore({ client, keyspace, bucketSize: 4 });
      const id = `c-${randomUUID()}`;
      for (const op of story(id)) await history.write([op]);
      assert.deepEqual(seqs(await history.changedAfter(id, 143, 1_000, 2)), [1, 5], 'entries 200-240 are stale and take no place');
      assert.deepEqual(seqs(await history.changedAfter(id, 143, 255, 100)), [1]);
      assert.deepEqual(seqs(await history.changedAfter(id, 250, 1_000, 100)), [5, 2, 10]);
      assert.deepEqual(seqs(await history.changedAfter(id, 60, 1_000, 100)), [1, 5, 2], 'messages sent after the cursor are not changes');
      const row = (
        await client.execute(`SELECT content, mentions, deleted FROM ${keyspace}.messages WHERE conversation_id = ? AND bucket = 0 AND seq = 2`, [id], {
          prepare: true,
        })
      ).first();
      assert.deepEqual([row.get('content'), row.get('mentions') ?? [], row.get('deleted')], ['', [], true]);
    });
  });
});
