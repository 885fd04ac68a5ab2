import type { Redis } from 'ioredis';
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
 *   <ns>dir:admins:<conversation_id>   SET admin user ids (leaving removes one)
 *   <ns>dir:all                        ZSET every conversation id, scored 0 (paged by id, for the retention sweep)
 *   (conversation hash)                retention (absent: the server's default), retention_pos
 *
 * Every op is idempotent on its own (HSETNX is SQLite's INSERT OR IGNORE; ZADD/ZREM/SADD/SREM set a
 * state rather than toggle one), so a batch is one MULTI of plain commands, atomic; a rename is a
 * small script (the title changes only for a later position, `title_pos`).
 */
const RENAME = `
local pos = tonumber(redis.call('HGET', KEYS[1], 'title_pos') or '0')
if tonumber(ARGV[2]) > pos and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'title', ARGV[1], 'title_pos', ARGV[2]) end
return 1`;
// ARGV[1] empty: back to the default.
const RETAIN = `
local pos = tonumber(redis.call('HGET', KEYS[1], 'retention_pos') or '0')
if tonumber(ARGV[2]) > pos and redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'retention') else redis.call('HSET', KEYS[1], 'retention', ARGV[1]) end
  redis.call('HSET', KEYS[1], 'retention_pos', ARGV[2])
end
return 1`;
export const createRedisDirectoryStore = ({ redis, prefix, version }: RedisStoreOptions & Versioned): DirectoryStore => {
  const base = storeBase(prefix, 'dir', version);
  const conv = (id: string) => `${base}conv:${id}`;
  const members = (id: string) => `${base}members:${id}`;
  const user = (id: string) => `${base}user:${id}`;
  const admins = (id: string) => `${base}admins:${id}`;
  redis.defineCommand('natterDirectoryRename', { numberOfKeys: 1, lua: RENAME });
  redis.defineCommand('natterDirectoryRetain', { numberOfKeys: 1, lua: RETAIN });
  const all = `${base}all`;

  const write = async (ops: DirectoryWrite[]) => {
    if (ops.length === 0) return;
    const multi = redis.multi() as ReturnType<Redis['multi']> & {
      natterDirectoryRename(key: string, title: string, position: string): unknown;
      natterDirectoryRetain(key: string, days: string, position: string): unknown;
    };
    for (const op of ops) {
      if (op.op === 'title') {
        multi.natterDirectoryRename(conv(op.conversation_id), op.title, String(op.position));
      } else if (op.op === 'retention') {
        multi.natterDirectoryRetain(conv(op.conversation_id), op.retention_days === null ? '' : String(op.retention_days), String(op.position));
      } else if (op.op === 'admins') {
        if (op.user_ids.length === 0) continue;
        if (op.admin) multi.sadd(admins(op.conversation_id), ...op.user_ids);
        else multi.srem(admins(op.conversation_id), ...op.user_ids);
      } else if (op.op === 'conversation') {
        const key = conv(op.conversation_id);
        multi
          .hsetnx(key, 'kind', op.kind)
          .hsetnx(key, 'created_by', op.created_by)
          .hsetnx(key, 'created_at', String(op.created_at))
          .zadd(all, '0', op.conversation_id);
        if (op.title !== null) multi.hsetnx(key, 'title', op.title);
      } else if (op.user_ids.length > 0) {
        if (op.active) {
          multi.zadd(members(op.conversation_id), ...op.user_ids.flatMap((u) => ['0', u]));
          for (const u of op.user_ids) multi.sadd(user(u), op.conversation_id);
        } else {
          multi.zrem(members(op.conversation_id), ...op.user_ids);
          multi.srem(admins(op.conversation_id), ...op.user_ids);
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
      const [fields, ids, adminIds] = (await execOrThrow(
        redis.multi().hmget(conv(id), 'kind', 'title', 'created_by', 'retention').zrange(members(id), 0, '-1').smembers(admins(id)),
      )) as [(string | null)[], string[], string[]];
      const [kind, title, createdBy, retention] = fields;
      if (kind === null || kind === undefined) return null;
      return {
        conversation_id: id,
        kind: kind as ConversationKind,
        title: title ?? null,
        created_by: createdBy ?? '',
        members: ids,
        admins: adminIds.sort(byteCompare),
        retention_days: retention ? Number(retention) : null,
      };
    },
    async members(id) {
      return redis.zrange(members(id), 0, '-1');
    },
    async conversationsOf(userId) {
      return (await redis.smembers(user(userId))).sort(byteCompare);
    },
    async conversations(after, limit) {
      const ids = await redis.zrangebylex(all, after === '' ? '-' : `(${after}`, '+', 'LIMIT', 0, limit);
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(conv(id), 'retention');
      const days = (await pipeline.exec()) ?? [];
      return ids.map((id, i) => ({ conversation_id: id, retention_days: days[i]?.[1] ? Number(days[i]![1]) : null }));
    },
    async reset() {
      await deleteUnder(redis, base);
    },
  };
};
