import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { PushRegistry, PushTarget } from '../../ports/push.ts';
import { byteCompare, namespace } from './keys.ts';

/*
 * Push registrations for the cluster, where every gateway registers and every push worker reads:
 *   push:dev:<user>                    HASH device_id → JSON {platform, addr, created_at, token | subscription}
 *   push:addr:<platform>:<sha256>      STRING "<user>\n<device>": which device holds a token or endpoint
 * The address index makes "a token belongs to one device" one lookup. Each operation is one script, so
 * a register that takes a token from another account, and an invalidation racing a re-registration,
 * are atomic. The scripts build the other user's key from the namespace, which a standalone Redis
 * (and its replicas) accepts but Redis Cluster does not (as the inbox store: read-models.ts).
 *
 * Registrations are a source of truth (not rebuilt from the log), so the Redis that holds them needs
 * persistence (appendonly yes); apps send their token again on every start, which heals a loss.
 */

const REGISTER = `
local me = ARGV[2] .. '\\n' .. ARGV[3]
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= me then
  local sep = string.find(owner, '\\n', 1, true)
  local okey = ARGV[1] .. 'dev:' .. string.sub(owner, 1, sep - 1)
  local odev = string.sub(owner, sep + 1)
  local old = redis.call('HGET', okey, odev)
  if old and cjson.decode(old).addr == ARGV[5] then redis.call('HDEL', okey, odev) end
end
local previous = redis.call('HGET', KEYS[1], ARGV[3])
if previous then
  local paddr = cjson.decode(previous).addr
  if paddr ~= ARGV[5] and redis.call('GET', ARGV[1] .. 'addr:' .. paddr) == me then redis.call('DEL', ARGV[1] .. 'addr:' .. paddr) end
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('SET', KEYS[2], me)
return 1`;

// Removes the device's registration, only if it still has address ARGV[4] when one is given.
const REMOVE = `
local current = redis.call('HGET', KEYS[1], ARGV[3])
if not current then return 0 end
local addr = cjson.decode(current).addr
if ARGV[4] ~= '' and addr ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[3])
local akey = ARGV[1] .. 'addr:' .. addr
if redis.call('GET', akey) == ARGV[2] .. '\\n' .. ARGV[3] then redis.call('DEL', akey) end
return 1`;

type Scripts = {
  natterPushRegister(devKey: string, addrKey: string, ns: string, user: string, device: string, value: string, addr: string): Promise<number>;
  natterPushRemove(devKey: string, ns: string, user: string, device: string, addr: string): Promise<number>;
};

type Stored =
  | { platform: 'fcm' | 'apns'; addr: string; created_at: number; token: string }
  | { platform: 'webpush'; addr: string; created_at: number; subscription: Extract<PushTarget, { platform: 'webpush' }>['subscription'] };

/** The token for FCM and APNs, the endpoint for Web Push, hashed: tokens and endpoints run to kilobytes. */
const addrOf = (target: PushTarget) =>
  `${target.platform}:${createHash('sha256')
    .update(target.platform === 'webpush' ? target.subscription.endpoint : target.token)
    .digest('hex')}`;

const toStored = (target: PushTarget): Stored =>
  target.platform === 'webpush'
    ? { platform: 'webpush', addr: addrOf(target), created_at: target.created_at, subscription: target.subscription }
    : { platform: target.platform, addr: addrOf(target), created_at: target.created_at, token: target.token };

const toTarget = (userId: string, deviceId: string, raw: string): PushTarget => {
  const stored = JSON.parse(raw) as Stored;
  return stored.platform === 'webpush'
    ? { user_id: userId, device_id: deviceId, platform: 'webpush', subscription: stored.subscription, created_at: stored.created_at }
    : { user_id: userId, device_id: deviceId, platform: stored.platform, token: stored.token, created_at: stored.created_at };
};

export const createRedisPushRegistry = (options: { redis: Redis; prefix: string }): PushRegistry => {
  const { redis } = options;
  const ns = `${namespace(options.prefix)}push:`;
  const devKey = (userId: string) => `${ns}dev:${userId}`;
  redis.defineCommand('natterPushRegister', { numberOfKeys: 2, lua: REGISTER });
  redis.defineCommand('natterPushRemove', { numberOfKeys: 1, lua: REMOVE });
  const scripts = redis as unknown as Scripts;

  return {
    async register(target) {
      const stored = toStored(target);
      await scripts.natterPushRegister(
        devKey(target.user_id),
        `${ns}addr:${stored.addr}`,
        ns,
        target.user_id,
        target.device_id,
        JSON.stringify(stored),
        stored.addr,
      );
    },
    async unregister(userId, deviceId) {
      return Number(await scripts.natterPushRemove(devKey(userId), ns, userId, deviceId, '')) === 1;
    },
    async get(userId, deviceId) {
      const raw = await redis.hget(devKey(userId), deviceId);
      return raw === null ? null : toTarget(userId, deviceId, raw);
    },
    async targetsOf(userIds) {
      if (userIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const userId of userIds) pipeline.hgetall(devKey(userId));
      const replies = (await pipeline.exec()) ?? [];
      return replies.flatMap(([error, devices], i) => {
        if (error) throw error;
        const all = devices as Record<string, string>;
        // Ordered by device id as bytes, as the SQLite registry orders them.
        return Object.keys(all)
          .sort(byteCompare)
          .map((deviceId) => toTarget(userIds[i]!, deviceId, all[deviceId]!));
      });
    },
    async invalidate(target) {
      await scripts.natterPushRemove(devKey(target.user_id), ns, target.user_id, target.device_id, addrOf(target));
    },
  };
};
