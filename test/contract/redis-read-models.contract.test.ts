import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryStore, InboxEntry, InboxStore, InboxWrite, ReadModels } from '../../ports/read-models.ts';
import type { SearchIndex } from '../../ports/search.ts';
import { createRedisReadModels } from '../../adapters/redis/read-models.ts';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { requireEngines } from '../support/engines.ts';
import { readModelsContract } from './read-models.contract.ts';

const env = await requireEngines('redis');

// Redis holds no history; the contract skips the history tests, and this stands in for the port.
const noHistory = new Proxy({} as HistoryStore, {
  get: (_, method) => () => Promise.reject(new Error(`the Redis read models hold no history (history.${String(method)})`)),
});

// Nor search (OpenSearch's, in search-index.contract.test.ts), which this contract does not cover.
const noSearch = new Proxy({} as SearchIndex, {
  get: (_, method) => () => Promise.reject(new Error(`the Redis read models hold no search index (search.${String(method)})`)),
});

/**
 * A fresh namespace per open(): suites sharing the server never see each other's keys, the reset()
 * tests empty only this one, and close() deletes it.
 */
const openRedis =
  (inboxFanoutMaxMembers?: number, history: () => ReadModels['history'] = () => noHistory, closeHistory = async () => {}) =>
  async (): Promise<ReadModels> => {
    const prefix = `natter-test:${randomUUID()}`;
    const models = createRedisReadModels({ url: env.NATTER_REDIS_URL, prefix, ...(inboxFanoutMaxMembers === undefined ? {} : { inboxFanoutMaxMembers }) });
    return {
      ...models,
      history: history(),
      search: noSearch,
      close: async () => {
        await Promise.all([models.directory.reset(), models.inbox.reset(), models.receipts.reset()]);
        await models.redis.unlink(`${prefix}:ckpt:positions`);
        await models.close();
        await closeHistory();
      },
    };
  };

readModelsContract('redis', openRedis(), ['directory', 'inbox', 'receipts', 'users', 'checkpoints']);

// The inbox in pull mode only (no per-user sorted sets), and with a limit of 2 members, so that the
// contract's groups move between push and pull mode as members join and leave.
readModelsContract('redis inbox, pull mode', openRedis(0), ['inbox']);
readModelsContract('redis inbox, push up to 2 members', openRedis(2), ['inbox']);

// Redis beside SQLite history, the way a deployment pairs them: runs the contract's cross-store
// at-least-once tests, which need every store.
{
  let sqlite: ReadModels | undefined;
  readModelsContract(
    'redis + sqlite history',
    openRedis(
      undefined,
      () => {
        sqlite = createSqliteReadModels(join(mkdtempSync(join(tmpdir(), 'natter-rm-')), 'history.db'));
        return sqlite.history;
      },
      async () => {
        await sqlite?.close();
      },
    ),
  );
}

// Beyond the contract: on random op sequences, applied in random batches with random windows
// replayed, the Redis inbox (in every mode, including groups moving between push and pull) lists
// and reports changes exactly as the SQLite inbox, the reference adapter.
describe('redis inbox agrees with the sqlite inbox under random ops and replays', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}`, async () => {
      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
      const run = randomUUID();
      const users = Array.from({ length: 6 }, (_, i) => `u${i}-${run}`);
      const conversations = Array.from({ length: 5 }, (_, i) => `c${i}-${run}`);
      const seqs = new Map<string, number>();
      const ops: InboxWrite[] = conversations.map((id) => ({
        op: 'conversation',
        conversation_id: id,
        kind: 'group',
        title: random() < 0.5 ? null : 't',
        timestamp: 1000 + Math.floor(random() * 5),
      }));
      for (let position = 1; position <= 150; position++) {
        const [r, c, u] = [random(), pick(conversations), pick(users)];
        // Members mostly join in the first half and mostly leave in the second, so that groups grow
        // past the push limit and shrink back under it.
        const joins = position <= 75 ? 0.3 : 0.1;
        if (r < joins) ops.push({ op: 'join', user_id: u, conversation_id: c, timestamp: 1, position });
        else if (r < 0.4) ops.push({ op: 'leave', user_id: u, conversation_id: c, position });
        else if (r < 0.85) {
          const seq = (seqs.get(c) ?? 0) + 1;
          seqs.set(c, seq);
          ops.push({
            op: 'message',
            conversation_id: c,
            position,
            last_message: { message_id: `m${seq}`, seq, sender_id: u, preview: 'p', timestamp: 1000 + Math.floor(random() * 8) },
          });
          ops.push({ op: 'read', user_id: u, conversation_id: c, read_seq: seq });
        } else ops.push({ op: 'read', user_id: u, conversation_id: c, read_seq: Math.floor(random() * 5) });
      }
      const batches: InboxWrite[][] = [];
      for (let i = 0; i < ops.length; ) {
        const n = 1 + Math.floor(random() * 20);
        batches.push(ops.slice(i, i + n));
        if (random() < 0.3) batches.push(ops.slice(Math.floor(random() * (i + 1)), i + n));
        i += n;
      }
      const sqlite = createSqliteReadModels(':memory:');
      const redis = [0, 1, 3, 4, undefined].map((inboxFanoutMaxMembers) =>
        createRedisReadModels({
          url: env.NATTER_REDIS_URL,
          prefix: `natter-test:${randomUUID()}`,
          ...(inboxFanoutMaxMembers === undefined ? {} : { inboxFanoutMaxMembers }),
        }),
      );
      const listAll = async (inbox: InboxStore, user: string, limit: number) => {
        const items: InboxEntry[] = [];
        for (let cursor: string | null | undefined; cursor !== null; ) {
          const page = await inbox.list(user, { limit, ...(cursor ? { cursor } : {}) });
          items.push(...page.items);
          cursor = page.next_cursor;
        }
        return items;
      };
      try {
        for (const batch of batches) {
          await sqlite.inbox.write(batch);
          for (const r of redis) await r.inbox.write(batch);
          // After every batch, not only at the end: a wrong intermediate state can heal later.
          for (const user of users) {
            const expected = (await sqlite.inbox.list(user, { limit: 100 })).items;
            for (const [i, r] of redis.entries())
              assert.deepEqual((await r.inbox.list(user, { limit: 100 })).items, expected, `${user}, store ${i}, after a batch`);
          }
        }
        let listed = 0;
        for (const user of users) {
          const expected = await listAll(sqlite.inbox, user, 1000);
          listed += expected.length;
          const changed = [...(await sqlite.inbox.changedSince(user, 60))].sort();
          for (const [i, r] of redis.entries()) {
            for (const limit of [1, 2, 3, 100]) assert.deepEqual(await listAll(r.inbox, user, limit), expected, `${user}, store ${i}, limit ${limit}`);
            assert.deepEqual([...(await r.inbox.changedSince(user, 60))].sort(), changed, `${user}, store ${i}`);
          }
        }
        assert.ok(listed > 0, 'the random story left someone with conversations');
      } finally {
        for (const r of redis) {
          await r.inbox.reset();
          await r.close();
        }
        await sqlite.close();
      }
    });
  }
});
