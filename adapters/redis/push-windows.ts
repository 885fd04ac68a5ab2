import type { Redis } from 'ioredis';
import type { PushClaim, PushWindows } from '../../ports/push.ts';
import { namespace } from './keys.ts';

/*
 *   push:win:<conversation>:<user>   STRING, expires when the window ends
 *   push:seq:<conversation>:<user>   STRING  the highest seq pushed, kept for `rememberMs`
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

type ClaimCommand = { natterPushClaim(win: string, seq: string, s: number, windowMs: number, rememberMs: number): Promise<[string, number, number]> };

export const createRedisPushWindows = (options: { redis: Redis; prefix: string }): PushWindows => {
  const ns = `${namespace(options.prefix)}push:`;
  options.redis.defineCommand('natterPushClaim', { numberOfKeys: 2, lua: CLAIM });
  const scripts = options.redis as unknown as ClaimCommand;
  return {
    async claim({ userId, conversationId, seq, windowMs, rememberMs }): Promise<PushClaim> {
      const [kind, ms, covered] = await scripts.natterPushClaim(`${ns}win:${conversationId}:${userId}`, `${ns}seq:${conversationId}:${userId}`,
        seq, windowMs, Math.max(1, rememberMs, windowMs));
      if (kind === 'push') return { kind, coveredSeq: Number(covered) };
      if (kind === 'wait') return { kind, ms: Number(ms) };
      return { kind: 'covered' };
    },
  };
};
