import type { Redis } from 'ioredis';
import type { ReceiptRow, ReceiptStore, ReceiptWrite } from '../../ports/read-models.ts';
import { deleteUnder, execOrThrow, type RedisStoreOptions } from './client.ts';
import { byteCompare, storeBase, type Versioned } from './keys.ts';

/*
 * `<ns>rcpt:<conversation_id>`: HASH user_id → "<delivered_seq>|<read_seq>". Merging with max() must
 * read then write, so it is a script; each call names its one key, and a batch is a MULTI of calls.
 * The stored strings are kept verbatim (no Lua number formatting, which loses digits past 14).
 */
const MERGE = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
local d, r = ARGV[2], ARGV[3]
if old then
  local od, orr = string.match(old, '^([^|]*)|(.*)$')
  if tonumber(od) > tonumber(d) then d = od end
  if tonumber(orr) > tonumber(r) then r = orr end
  if d .. '|' .. r == old then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], d .. '|' .. r)
return 1`;

type MergeCommand = { natterReceiptMerge(key: string, user: string, delivered: string, read: string): unknown };

export const createRedisReceiptStore = ({ redis, prefix, version }: RedisStoreOptions & Versioned): ReceiptStore => {
  const base = storeBase(prefix, 'rcpt', version);
  redis.defineCommand('natterReceiptMerge', { numberOfKeys: 1, lua: MERGE });
  return {
    async write(ops: ReceiptWrite[]) {
      if (ops.length === 0) return;
      const multi = redis.multi();
      const merge = multi as unknown as MergeCommand;
      for (const op of ops) merge.natterReceiptMerge(`${base}${op.conversation_id}`, op.user_id, String(op.delivered_seq), String(op.read_seq));
      await execOrThrow(multi);
    },
    async list(id): Promise<ReceiptRow[]> {
      const all = await redis.hgetall(`${base}${id}`);
      return Object.keys(all)
        .sort(byteCompare)
        .map((user_id) => {
          const [delivered, read] = all[user_id]!.split('|');
          return { user_id, delivered_seq: Number(delivered), read_seq: Number(read) };
        });
    },
    async reset() {
      await deleteUnder(redis as Redis, base);
    },
  };
};
