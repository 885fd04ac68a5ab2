import type { Redis } from 'ioredis';
import type { UserStore, UserWrite } from '../../ports/read-models.ts';
import { deleteUnder, type RedisStoreOptions } from './client.ts';
import { byteCompare, storeBase, type Versioned } from './keys.ts';

/*
 * Blocks and privacy:
 *   <ns>usr:blk:<user>   HASH blocked user id → "<1|0>|<position>" (0: unblocked)
 *   <ns>usr:priv         HASH user id → "<everyone|contacts|nobody>|<position>"
 *   <ns>usr:erased       SET erased user ids
 * A change is written only over an older one (by position): one script per batch.
 */
const APPLY = `
local base = ARGV[1]
for _, op in ipairs(cjson.decode(ARGV[2])) do
  local key, field = base .. 'priv', op[2]
  if op[1] == 'b' then key, field = base .. 'blk:' .. op[2], op[3] end
  local old = redis.call('HGET', key, field)
  local pos = old and tonumber(string.match(old, '|(%d+)$')) or -1
  if tonumber(op[5]) > pos then redis.call('HSET', key, field, op[4] .. '|' .. op[5]) end
end
return 1`;

type Visibility = 'everyone' | 'contacts' | 'nobody';

export const createRedisUserStore = ({ redis, prefix, version }: RedisStoreOptions & Versioned): UserStore => {
  const base = storeBase(prefix, 'usr', version);
  redis.defineCommand('natterUsersApply', { numberOfKeys: 0, lua: APPLY });
  const commands = redis as Redis & { natterUsersApply(base: string, ops: string): Promise<number> };
  const blocked = (value: string | null) => value?.startsWith('1|') === true;
  return {
    async write(all: UserWrite[]) {
      const erased = all.flatMap((op) => (op.op === 'erased' ? [op.user_id] : []));
      if (erased.length > 0) await redis.sadd(`${base}erased`, ...erased);
      const ops = all.filter((op): op is Exclude<UserWrite, { op: 'erased' }> => op.op !== 'erased');
      if (ops.length === 0) return;
      const encoded = ops.map((op) =>
        op.op === 'block'
          ? ['b', op.user_id, op.blocked_user_id, op.blocked ? '1' : '0', String(op.position)]
          : ['p', op.user_id, '', op.last_seen, String(op.position)],
      );
      await commands.natterUsersApply(base, JSON.stringify(encoded));
    },
    async blocks(userId) {
      const all = await redis.hgetall(`${base}blk:${userId}`);
      return Object.entries(all)
        .filter(([, v]) => blocked(v))
        .map(([k]) => k)
        .sort(byteCompare);
    },
    async eitherBlocks(a, b) {
      const [ab, ba] = await Promise.all([redis.hget(`${base}blk:${a}`, b), redis.hget(`${base}blk:${b}`, a)]);
      return blocked(ab) || blocked(ba);
    },
    async lastSeenVisibility(userId) {
      const value = await redis.hget(`${base}priv`, userId);
      return (value?.slice(0, value.indexOf('|')) as Visibility | undefined) ?? 'everyone';
    },
    async isErased(userId) {
      return (await redis.sismember(`${base}erased`, userId)) === 1;
    },
    async reset() {
      await deleteUnder(redis, base);
    },
  };
};
