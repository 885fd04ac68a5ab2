import type { Redis } from 'ioredis';
import type { PresenceState, PresenceStore } from '../../ports/presence.ts';
import type { SessionRegistry } from '../../ports/sessions.ts';
import { namespace } from './keys.ts';

/*
 * Sessions, presence and routing share one structure:
 *   ses:user:<u>   ZSET  "<gateway>|<session>" → expiresAt (ms): u's live devices and where they are
 *   ses:expiry     ZSET  "<u>|<gateway>|<session>" → expiresAt: lets any process find lapsed sessions
 *   ses:seen:<u>   STRING last_seen (ms), written when u goes offline, kept 30 days
 *   ses:ann:<u>    HASH   status and time of the last presence announcement (coalescing across gateways)
 * Heartbeats refresh scores in one pipeline per gateway tick; nothing is written per frame.
 */

const CONNECT = `
local live = redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return live`;

// Removes one session; answers 1 when no live session is left, i.e. the user just went offline.
const DISCONNECT = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3])
if removed == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', 2592000000)
  return 1
end
return 0`;

// Coalescing shared by the gateways: one record per user of what contacts last saw, and when.
const CLAIM = `
local last = redis.call('HMGET', KEYS[1], 'status', 'at')
local now, throttle = tonumber(ARGV[2]), tonumber(ARGV[3])
if last[2] and now - tonumber(last[2]) < throttle then return tonumber(last[2]) + throttle - now end
if last[1] == ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0`;

type Scripts = {
  natterPresenceClaim(key: string, status: string, now: number, throttleMs: number, ttlMs: number): Promise<number>;
  natterSessionConnect(user: string, expiry: string, member: string, now: number, expiresAt: number, expiryMember: string, ttl: number): Promise<number>;
  natterSessionDisconnect(user: string, expiry: string, seen: string, member: string, now: number, expiryMember: string): Promise<number>;
};

/** A user's live sessions (delivery.ts resolves users to gateways from it, in a script). */
export const sessionUserKey = (prefix: string, userId: string) => `${namespace(prefix)}ses:user:${userId}`;

export const createRedisSessions = (options: { redis: Redis; prefix: string; gatewayId: string }): PresenceStore & SessionRegistry => {
  const { redis, gatewayId } = options;
  const ns = `${namespace(options.prefix)}ses:`;
  const userKey = (u: string) => sessionUserKey(options.prefix, u);
  const seenKey = (u: string) => `${ns}seen:${u}`;
  const expiryKey = `${ns}expiry`;
  const member = (sessionId: string) => `${gatewayId}|${sessionId}`;
  redis.defineCommand('natterSessionConnect', { numberOfKeys: 2, lua: CONNECT });
  redis.defineCommand('natterSessionDisconnect', { numberOfKeys: 3, lua: DISCONNECT });
  redis.defineCommand('natterPresenceClaim', { numberOfKeys: 1, lua: CLAIM });
  const scripts = redis as unknown as Scripts;

  return {
    async connect(userId, sessionId, ttlMs, now) {
      const live = await scripts.natterSessionConnect(
        userKey(userId),
        expiryKey,
        member(sessionId),
        now,
        now + ttlMs,
        `${userId}|${member(sessionId)}`,
        ttlMs * 2,
      );
      return Number(live) === 0;
    },
    async refresh(sessions, ttlMs, now) {
      if (sessions.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { userId, sessionId } of sessions) {
        pipeline.zadd(userKey(userId), 'XX', now + ttlMs, member(sessionId));
        pipeline.pexpire(userKey(userId), ttlMs * 2);
        pipeline.zadd(expiryKey, 'XX', now + ttlMs, `${userId}|${member(sessionId)}`);
      }
      await pipeline.exec();
    },
    async disconnect(userId, sessionId, now) {
      return (
        Number(await scripts.natterSessionDisconnect(userKey(userId), expiryKey, seenKey(userId), member(sessionId), now, `${userId}|${member(sessionId)}`)) ===
        1
      );
    },
    // Any gateway may sweep: ZREM makes each lapsed session count once, whoever removes it.
    async expire(now) {
      const lapsed = await redis.zrangebyscore(expiryKey, '-inf', now, 'LIMIT', 0, 1000);
      const gone: string[] = [];
      for (const entry of lapsed) {
        const [userId, gateway, session] = entry.split('|');
        if (!userId || !gateway || !session) continue;
        const removed = await scripts.natterSessionDisconnect(userKey(userId), expiryKey, seenKey(userId), `${gateway}|${session}`, now, entry);
        if (Number(removed) === 1) gone.push(userId);
      }
      return gone;
    },
    sessionsOf: (userId, now) => redis.zcount(userKey(userId), now, '+inf'),
    // An offline record lives through its window; an online one for a day (once gone, the next change is announced).
    claimAnnouncement: async (userId, status, now, throttleMs) =>
      Number(await scripts.natterPresenceClaim(`${ns}ann:${userId}`, status, now, throttleMs, status === 'offline' ? 2 * throttleMs : 86_400_000)),
    async get(userId, now): Promise<PresenceState> {
      const [live, seen] = await Promise.all([redis.zcount(userKey(userId), now, '+inf'), redis.get(seenKey(userId))]);
      if (live > 0) return { user_id: userId, status: 'online' };
      return { user_id: userId, status: 'offline', ...(seen ? { last_seen: Number(seen) } : {}) };
    },
    async offline(userIds, now, since) {
      const pipeline = redis.pipeline();
      for (const u of userIds) {
        pipeline.zcount(userKey(u), now, '+inf');
        if (since !== undefined) pipeline.get(seenKey(u));
      }
      const replies = (await pipeline.exec()) ?? [];
      const per = since === undefined ? 1 : 2;
      return userIds.filter((_, i) => {
        if (Number(replies[i * per]?.[1] ?? 0) > 0) return false;
        const seen = since === undefined ? null : (replies[i * per + 1]?.[1] as string | null);
        return seen === null || Number(seen) < since!;
      });
    },
  };
};
