import { fresh, sends } from '../support/history.ts';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ReadModels } from '../../ports/read-models.ts';
import type { SearchIndex } from '../../ports/search.ts';
import { requireEngines } from '../support/engines.ts';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { migrate } from '../../adapters/cassandra/migrations.ts';
import { createHistoryVersion, dropHistoryVersion } from '../../adapters/cassandra/history-versions.ts';
import { createCassandraHistoryStore } from '../../adapters/cassandra/history-store.ts';
import { createRedisUserStore } from '../../adapters/redis/user-store.ts';
import { createRedisDirectoryStore } from '../../adapters/redis/directory-store.ts';
import { createRedisInboxStore } from '../../adapters/redis/inbox-store.ts';
import { createRedisReceiptStore } from '../../adapters/redis/receipt-store.ts';
import { createRedisCheckpointStore } from '../../adapters/redis/checkpoint-store.ts';
import { createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { readModelsContract } from './read-models.contract.ts';

/*
 * The versions a blue/green rebuild writes (`natter replay --cluster`) are the same adapters over
 * other keys and tables: version 3 passes the whole read-model contract, and two versions in one
 * namespace never see each other's data.
 */
const env = await requireEngines('redis', 'cassandra');
const keyspace = `natter_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const cassandra = await connectCassandra({ contactPoints: env.NATTER_CASSANDRA_CONTACT_POINTS.split(','), localDataCenter: env.NATTER_CASSANDRA_DC });
await migrate(cassandra, keyspace, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
await createHistoryVersion(cassandra, keyspace, 3);
const redis = new Redis(env.NATTER_REDIS_URL);
const prefix = `natter-test:${randomUUID()}`;

after(async () => {
  await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
  await cassandra.shutdown();
  redis.disconnect();
});

const at = (version: number): ReadModels => ({
  history: createCassandraHistoryStore({ client: cassandra, keyspace, version }),
  directory: createRedisDirectoryStore({ redis, prefix, version }),
  users: createRedisUserStore({ redis, prefix, version }),
  inbox: createRedisInboxStore({ redis, prefix, version }),
  receipts: createRedisReceiptStore({ redis, prefix, version }),
  checkpoints: createRedisCheckpointStore({ redis, prefix }),
  // The search index's versions are OpenSearch indices: search-index.contract.test.ts covers them.
  search: new Proxy({} as SearchIndex, { get: () => () => Promise.reject(new Error('no search index in this suite')) }),
  unitOfWork: (work) => work(),
  close: async () => {},
});

readModelsContract('redis + cassandra, version 3', async () => ({
  ...at(3),
  close: async () => {
    await Promise.all([at(3).directory.reset(), at(3).inbox.reset(), at(3).receipts.reset(), at(3).users.reset()]);
  },
}));

describe('read-model versions side by side', () => {
  it('given the same conversation in versions 1 and 2, when version 2 is written and dropped, then version 1 is untouched', async () => {
    await createHistoryVersion(cassandra, keyspace, 2);
    const [v1, v2] = [at(1), at(2)];
    const c = `c-${randomUUID()}`;
    const message = (seq: number) =>
      fresh({
        conversation_id: c,
        seq,
        message_id: `m${seq}`,
        sender_id: 'ann',
        client_msg_id: `k${seq}`,
        content: `hi ${seq}`,
        content_type: 'text' as const,
        timestamp: seq,
        position: seq * 10,
      });
    await v1.history.write(sends([message(1)]));
    await v2.history.write(sends([message(1), message(2)]));
    await v1.receipts.write([{ conversation_id: c, user_id: 'ann', delivered_seq: 1, read_seq: 1 }]);
    await v2.receipts.write([{ conversation_id: c, user_id: 'ann', delivered_seq: 2, read_seq: 2 }]);
    assert.deepEqual(
      (await v1.history.page(c, { limit: 10 })).map((m) => m.seq),
      [1],
    );
    assert.deepEqual(
      (await v2.history.page(c, { limit: 10 })).map((m) => m.seq),
      [1, 2],
    );
    assert.deepEqual(await v1.receipts.list(c), [{ user_id: 'ann', delivered_seq: 1, read_seq: 1 }]);

    await v2.receipts.reset();
    await dropHistoryVersion(cassandra, keyspace, 2);
    assert.deepEqual(await v1.receipts.list(c), [{ user_id: 'ann', delivered_seq: 1, read_seq: 1 }]);
    assert.deepEqual(
      (await v1.history.page(c, { limit: 10 })).map((m) => m.seq),
      [1],
    );
  });

  it('given a conversation in versions 1 and 2, when version 1 (the unversioned keys) is deleted, then version 2 is untouched', async () => {
    const [v1, v2] = [at(1), at(2)];
    const c = `c-${randomUUID()}`;
    const created = { op: 'conversation' as const, conversation_id: c, kind: 'group' as const, title: 't', created_by: 'ann', created_at: 1 };
    for (const v of [v1, v2]) await v.directory.write([created, { op: 'members', conversation_id: c, user_ids: ['ann'], active: true }]);
    await v1.directory.reset();
    assert.equal(await v1.directory.get(c), null);
    assert.deepEqual((await v2.directory.get(c))?.members, ['ann']);
  });
});

describe('the shared record of active versions', () => {
  const versions = () => createRedisReadModelVersions({ redis, prefix: `natter-test:${randomUUID()}` });

  it('given a replay holding a projection, when another asks for it, then it is refused until the first unlocks', async () => {
    const record = versions();
    assert.equal(await record.lock(['inbox', 'history'], 'a', 10_000), true);
    assert.equal(await record.lock(['directory', 'inbox'], 'b', 10_000), false);
    assert.equal(await record.lock(['directory'], 'b', 10_000), true, 'a refused lock takes none of the others');
    await record.unlock(['inbox', 'history'], 'b');
    assert.equal(await record.lock(['inbox'], 'c', 10_000), false, 'only the holder unlocks');
    await record.unlock(['inbox', 'history'], 'a');
    assert.equal(await record.lock(['inbox'], 'c', 10_000), true);
  });

  it('given a fence that lapsed, when the replay switches, then the switch is refused and nothing changes', async () => {
    const record = versions();
    assert.equal((await record.allocate(['inbox']))[0]?.version, 2);
    await record.fence(['inbox'], 't', 50);
    assert.deepEqual((await record.read(['inbox', 'history'])).fenced, ['inbox']);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual((await record.read(['inbox'])).fenced, [], 'workers go on once the lease runs out');
    await assert.rejects(record.switchTo('t', [{ projection: 'inbox', version: 2, from: 10 }]), /fence lapsed/);
    assert.deepEqual((await record.read()).active, {});
  });

  it('given a held fence, when the replay switches, then readers are told, and the old version is written beside until retired', async () => {
    const record = versions();
    const follower = record.follow({ intervalMs: 60_000 });
    await follower.ready;
    assert.deepEqual(await record.allocate(['history', 'inbox']), [
      { projection: 'history', active: 1, version: 2, abandoned: 0 },
      { projection: 'inbox', active: 1, version: 2, abandoned: 0 },
    ]);
    await record.fence(['history', 'inbox'], 't', 10_000);
    assert.deepEqual(
      await record.switchTo('t', [
        { projection: 'history', version: 2, from: 40 },
        { projection: 'inbox', version: 2, from: 40 },
      ]),
      [1, 1],
    );
    const state = await record.read(['history', 'inbox']);
    assert.deepEqual(state, { active: { history: 2, inbox: 2 }, also: { history: 1, inbox: 1 }, from: { 'history:2': 40, 'inbox:2': 40 }, fenced: [] });
    // The notice, not the (one-minute) poll, moves the follower.
    for (const deadline = Date.now() + 5_000; follower.active().inbox !== 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(follower.active(), { history: 2, inbox: 2 });
    follower.stop();
    await record.retire('inbox', 1);
    assert.deepEqual((await record.read()).also, { history: 1 });
    assert.deepEqual(await record.retired('inbox'), [1]);
    assert.deepEqual((await record.allocate(['inbox']))[0], { projection: 'inbox', active: 2, version: 3, abandoned: 0 });
    assert.deepEqual(
      (await record.allocate(['inbox']))[0],
      { projection: 'inbox', active: 2, version: 4, abandoned: 3 },
      'a build that never switched is reported',
    );
  });
});
