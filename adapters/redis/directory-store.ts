import type { ConversationKind } from '../../contracts/events.ts';
import type { DirectoryStore, DirectoryWrite } from '../../ports/read-models.ts';
import { deleteUnder, execOrThrow, type RedisStoreOptions } from './client.ts';
import { byteCompare, storeBase, type Versioned } from './keys.ts';

/**
 * Conversations and their active members (layout in read-models.ts):
 *   <ns>dir:conv:<conversation_id>     HASH kind, title (absent = null), created_by, created_at
 *   <ns>dir:members:<conversation_id>  ZSET active user ids, all scored 0: ZRANGE gives byte order,
 *                                      the order SQLite's `ORDER BY user_id` gives
 *   <ns>dir:user:<user_id>             SET conversation ids where the user is active
 *
 * Every op is idempotent on its own (HSETNX is SQLite's INSERT OR IGNORE; ZADD/ZREM/SADD/SREM set a
 * state rather than toggle one), so a batch is one MULTI of plain commands: atomic, no script needed.
 */
export const createRedisDirectoryStore = ({ redis, prefix, version }: RedisStoreOptions & Versioned): DirectoryStore => {
  const base = storeBase(prefix, 'dir', version);
  const conv = (id: string) => `${base}conv:${id}`;
  const members = (id: string) => `${base}members:${id}`;
  const user = (id: string) => `${base}user:${id}`;

  const write = async (ops: DirectoryWrite[]) => {
    if (ops.length === 0) return;
    const multi = redis.multi();
    for (const op of ops) {
      if (op.op === 'conversation') {
        const key = conv(op.conversation_id);
        multi.hsetnx(key, 'kind', op.kind).hsetnx(key, 'created_by', op.created_by).hsetnx(key, 'created_at', String(op.created_at));
        if (op.title !== null) multi.hsetnx(key, 'title', op.title);
      } else if (op.user_ids.length > 0) {
        if (op.active) {
          multi.zadd(members(op.conversation_id), ...op.user_ids.flatMap((u) => ['0', u]));
          for (const u of op.user_ids) multi.sadd(user(u), op.conversation_id);
        } else {
          multi.zrem(members(op.conversation_id), ...op.user_ids);
          for (const u of op.user_ids) multi.srem(user(u), op.conversation_id);
        }
      }
    }
    await execOrThrow(multi);
  };

  return {
    write,
    async get(id) {
      // One MULTI, so the conversation and its members come from the same state.
      const [fields, ids] = (await execOrThrow(redis.multi().hmget(conv(id), 'kind', 'title', 'created_by').zrange(members(id), 0, '-1'))) as [
        (string | null)[], string[],
      ];
      const [kind, title, createdBy] = fields;
      if (kind === null || kind === undefined) return null;
      return { conversation_id: id, kind: kind as ConversationKind, title: title ?? null, created_by: createdBy ?? '', members: ids };
    },
    async members(id) { return redis.zrange(members(id), 0, '-1'); },
    async conversationsOf(userId) { return (await redis.smembers(user(userId))).sort(byteCompare); },
    async reset() { await deleteUnder(redis, base); },
  };
};
