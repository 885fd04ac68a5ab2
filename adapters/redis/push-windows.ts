import type { Redis } from 'ioredis';
import type { PushClaim, PushWindows, WaitingPush } from '../../ports/push.ts';
import { namespace } from './keys.ts';

/*
 *   push:win:<conversation>:<user>   STRING, expires when the window ends
 *   push:seq:<conversation>:<user>   STRING  the highest seq pushed, kept for `rememberMs`
 *   push:park:<conversation>:<user>  HASH    seq → message waiting for the window's end
 *   push:due                         ZSET    "<conversation>:<user>" → when its parked messages are due
 * (Conversation ids have no ':', so the user id after them cannot make two keys collide.)
 * One script decides, so two push workers that both hold requests for a user during a rebalance
 * cannot both push in one window: the second waits for the window's end.
 */
const CLAIM = `
local covered = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= covered then return {'covered', 0, covered} end
local left = redis.call('PTTL', KEYS[1])
if left > 0 then return {'wait', left, covered} end
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], '1', 'PX', ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return {'push', 0, covered}`;

// Parked messages and their due entry change together, so a window is taken whole, once.
const PARK = `
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], KEYS[3])`;
const TAKE = `
local parked = redis.call('HVALS', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[3])
return parked`;

type Scripts = {
  natterPushClaim(win: string, seq: string, s: number, windowMs: number, rememberMs: number): Promise<[string, number, number]>;
  natterPushPark(park: string, due: string, member: string, dueAt: number, ttlMs: number, ...seqAndMessage: string[]): Promise<void>;
  natterPushTake(park: string, due: string, member: string): Promise<string[]>;
};

/** Parked messages outlive their due time by this much, for a worker that was down at the time. */
const PARKED_TTL_MS = 24 * 60 * 60 * 1000;

export const createRedisPushWindows = (options: { redis: Redis; prefix: string }): PushWindows => {
  const ns = `${namespace(options.prefix)}push:`;
  options.redis.defineCommand('natterPushClaim', { numberOfKeys: 2, lua: CLAIM });
  options.redis.defineCommand('natterPushPark', { numberOfKeys: 3, lua: PARK });
  options.redis.defineCommand('natterPushTake', { numberOfKeys: 3, lua: TAKE });
  const scripts = options.redis as unknown as Scripts;
  const member = (userId: string, conversationId: string) => `${conversationId}:${userId}`;
  return {
    async claim({ userId, conversationId, seq, windowMs, rememberMs }): Promise<PushClaim> {
      const [kind, ms, covered] = await scripts.natterPushClaim(
        `${ns}win:${conversationId}:${userId}`,
        `${ns}seq:${conversationId}:${userId}`,
        seq,
        windowMs,
        Math.max(1, rememberMs, windowMs),
      );
      if (kind === 'push') return { kind, coveredSeq: Number(covered) };
      if (kind === 'wait') return { kind, ms: Number(ms) };
      return { kind: 'covered' };
    },
    async park({ userId, conversationId, messages, dueAt }) {
      if (messages.length === 0) return;
      const ttl = Math.max(1, dueAt - Date.now()) + PARKED_TTL_MS;
      await scripts.natterPushPark(
        `${ns}park:${conversationId}:${userId}`,
        `${ns}due`,
        member(userId, conversationId),
        dueAt,
        ttl,
        ...messages.flatMap((m) => [String(m.seq), JSON.stringify(m)]),
      );
    },
    async take(userId, conversationId) {
      const parked = await scripts.natterPushTake(`${ns}park:${conversationId}:${userId}`, `${ns}due`, member(userId, conversationId));
      return parked.map((json) => JSON.parse(json) as WaitingPush).sort((a, b) => a.seq - b.seq);
    },
    async due(dueBy, limit) {
      const members = await options.redis.zrangebyscore(`${ns}due`, '-inf', dueBy, 'LIMIT', 0, limit);
      return members.map((m) => ({ conversationId: m.slice(0, m.indexOf(':')), userId: m.slice(m.indexOf(':') + 1) }));
    },
  };
};
