import type { Redis } from 'ioredis';
import { namespace } from './keys.ts';

/*
 * Which version of each read model is live: the one shared record that gateways, projector workers
 * and `natter replay` agree on (blue/green rebuilds; the protocol is in app/cluster/replay.ts).
 *
 *   rmv:state           HASH  active:<p> → version (absent: 1, the unversioned keys and tables)
 *                             from:<p>:<v> → log position: workers write version v of p only with
 *                               events after it (the replay wrote everything up to it)
 *                             also:<p> → the previous version, still written beside the active
 *                               one until every gateway has moved off it
 *                             next:<p> → the last version handed out; building:<p> → the one a
 *                               replay is building (left behind if it dies, cleaned by the next)
 *   rmv:fence:<p>       STRING the replay's token, with a lease (PX): while it exists, workers hold
 *                              their batches of p so the replay can finish at a fixed position
 *   rmv:lock:<p>        STRING one replay per projection at a time, with a lease
 *   rmv:retired         SET    "<p>:<v>" versions switched away from and not deleted yet
 *   rmv:changed         channel, published on every switch (gateways also poll, in case they miss it)
 */

export type VersionState = {
  /** projection → active version; absent means 1. */
  active: Record<string, number>;
  /** projection → the version also written beside the active one. */
  also: Record<string, number>;
  /** `<p>:<v>` → the position after which workers write that version. */
  from: Record<string, number>;
  /** Projections a replay is switching: their batches wait. */
  fenced: string[];
};

export const activeVersion = (state: Pick<VersionState, 'active'>, projection: string) => state.active[projection] ?? 1;
export const writeFrom = (state: VersionState, projection: string, version: number) => state.from[`${projection}:${version}`] ?? 0;

const decode = (fields: Record<string, string>, fenced: string[]): VersionState => {
  const state: VersionState = { active: {}, also: {}, from: {}, fenced };
  for (const [field, value] of Object.entries(fields)) {
    const [kind, ...rest] = field.split(':');
    const key = rest.join(':');
    if (kind === 'active') state.active[key] = Number(value);
    else if (kind === 'also') state.also[key] = Number(value);
    else if (kind === 'from') state.from[key] = Number(value);
  }
  return state;
};

/** Hands out the next version of each projection (above the active one and every earlier one) and marks it as building. */
const ALLOCATE = `
local out = {}
for i, p in ipairs(ARGV) do
  local active = tonumber(redis.call('HGET', KEYS[1], 'active:' .. p) or '1')
  local next = math.max(tonumber(redis.call('HGET', KEYS[1], 'next:' .. p) or '0'), active) + 1
  local stale = redis.call('HGET', KEYS[1], 'building:' .. p) or '0'
  redis.call('HSET', KEYS[1], 'next:' .. p, next, 'building:' .. p, next)
  out[i] = { active, next, tonumber(stale) }
end
return out`;

/**
 * The switch: only while every fence still holds the replay's token (a lapsed fence means workers
 * went on writing the old version alone, so the new one may miss events). KEYS: state, then the
 * fences; ARGV: token, channel, then (projection, version, from) triples.
 */
const SWITCH = `
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then return redis.error_reply('fence lapsed: ' .. KEYS[i]) end
end
local old = {}
for i = 3, #ARGV, 3 do
  local p, v, from = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local was = redis.call('HGET', KEYS[1], 'active:' .. p) or '1'
  redis.call('HSET', KEYS[1], 'active:' .. p, v, 'from:' .. p .. ':' .. v, from, 'also:' .. p, was)
  redis.call('HDEL', KEYS[1], 'building:' .. p)
  old[#old + 1] = tonumber(was)
end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('PUBLISH', ARGV[2], 'switched')
return old`;

/** PEXPIREs every key (fences or locks) still holding the token; returns how many did. */
const EXTEND = `
local held = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('PEXPIRE', KEYS[i], ARGV[2]); held = held + 1 end
end
return held`;

/** Deletes every key (fences or locks) still holding the token. */
const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0`;

type Commands = {
  natterRmvAllocate(state: string, ...projections: string[]): Promise<Array<[number, number, number]>>;
  natterRmvSwitch(keys: number, ...args: string[]): Promise<number[]>;
  natterRmvExtend(keys: number, ...args: string[]): Promise<number>;
  natterRmvRelease(keys: number, ...args: string[]): Promise<number>;
};

export type RedisReadModelVersions = ReturnType<typeof createRedisReadModelVersions>;

export const createRedisReadModelVersions = ({ redis, prefix }: { redis: Redis; prefix: string }) => {
  const base = `${namespace(prefix)}rmv:`;
  const stateKey = `${base}state`;
  const retiredKey = `${base}retired`;
  const channel = `${base}changed`;
  const fenceKey = (p: string) => `${base}fence:${p}`;
  const lockKey = (p: string) => `${base}lock:${p}`;
  redis.defineCommand('natterRmvAllocate', { numberOfKeys: 1, lua: ALLOCATE });
  redis.defineCommand('natterRmvSwitch', { lua: SWITCH });
  redis.defineCommand('natterRmvExtend', { lua: EXTEND });
  redis.defineCommand('natterRmvRelease', { lua: RELEASE });
  const commands = redis as Redis & Commands;

  /** The whole record and the fences of `projections`, from one MULTI (one consistent snapshot). */
  const read = async (projections: string[] = []): Promise<VersionState> => {
    const multi = redis.multi().hgetall(stateKey);
    if (projections.length > 0) multi.mget(...projections.map(fenceKey));
    const replies = await multi.exec();
    if (!replies) throw new Error('redis transaction aborted');
    for (const [error] of replies) if (error) throw error;
    const fences = (replies[1]?.[1] as (string | null)[] | undefined) ?? [];
    return decode(
      replies[0]![1] as Record<string, string>,
      projections.filter((_, i) => fences[i] !== null && fences[i] !== undefined),
    );
  };

  /**
   * The active versions for readers (gateways): read at start, again on every switch notice, and
   * polled every `intervalMs` in case a notice was missed (pub/sub is at most once). Never per request.
   */
  const follow = (options: { intervalMs?: number; onError?(error: unknown): void } = {}) => {
    const { intervalMs = 1_000, onError = () => {} } = options;
    let active: Record<string, number> = {};
    // An outage is reported once, not on every poll and reconnect attempt; readers keep the last versions meanwhile.
    let failing = false;
    const report = (error: unknown) => {
      if (!failing) onError(error);
      failing = true;
    };
    const refresh = async () => {
      active = (await read()).active;
      failing = false;
    };
    const subscriber = redis.duplicate({ connectionName: 'natter-rmv-follower' });
    subscriber.on('message', () => void refresh().catch(report));
    subscriber.on('error', report);
    const timer = setInterval(() => void refresh().catch(report), intervalMs);
    timer.unref();
    return {
      // Subscribed before the first read, so that no switch falls between them unnoticed.
      ready: subscriber.subscribe(channel).then(refresh),
      active: (): Readonly<Record<string, number>> => active,
      stop: () => {
        clearInterval(timer);
        subscriber.disconnect();
      },
    };
  };

  const extend = async (keys: string[], token: string, ttlMs: number) =>
    (await commands.natterRmvExtend(keys.length, ...keys, token, String(ttlMs))) === keys.length;

  return {
    read,
    follow,

    /** One replay per projection at a time: true when every lock was taken (none is taken otherwise). */
    async lock(projections: string[], token: string, ttlMs: number): Promise<boolean> {
      const taken: string[] = [];
      for (const p of projections) {
        if ((await redis.set(lockKey(p), token, 'PX', ttlMs, 'NX')) !== 'OK') {
          if (taken.length > 0) await commands.natterRmvRelease(taken.length, ...taken, token);
          return false;
        }
        taken.push(lockKey(p));
      }
      return true;
    },
    extendLocks: (projections: string[], token: string, ttlMs: number) => extend(projections.map(lockKey), token, ttlMs),
    async unlock(projections: string[], token: string) {
      await commands.natterRmvRelease(projections.length, ...projections.map(lockKey), token);
    },

    /** For each projection: the active version, the new one, and a version an earlier build left behind (0 if none). */
    async allocate<P extends string>(projections: P[]) {
      const rows = await commands.natterRmvAllocate(stateKey, ...projections);
      return projections.map((projection, i) => ({ projection, active: rows[i]![0], version: rows[i]![1], abandoned: rows[i]![2] }));
    },
    async abandon(projections: string[]) {
      if (projections.length > 0) await redis.hdel(stateKey, ...projections.map((p) => `building:${p}`));
    },

    async fence(projections: string[], token: string, leaseMs: number) {
      const multi = redis.multi();
      for (const p of projections) multi.set(fenceKey(p), token, 'PX', leaseMs);
      await multi.exec();
    },
    /** False when a fence lapsed (its lease ran out): the switch would be refused. */
    extendFences: (projections: string[], token: string, leaseMs: number) => extend(projections.map(fenceKey), token, leaseMs),
    async unfence(projections: string[], token: string) {
      await commands.natterRmvRelease(projections.length, ...projections.map(fenceKey), token);
    },

    /** Makes each target version active, written by workers after `from`; returns the versions switched away from. */
    async switchTo(token: string, targets: Array<{ projection: string; version: number; from: number }>): Promise<number[]> {
      const keys = [stateKey, ...targets.map((t) => fenceKey(t.projection))];
      const args = targets.flatMap((t) => [t.projection, String(t.version), String(t.from)]);
      return commands.natterRmvSwitch(keys.length, ...keys, token, channel, ...args);
    },

    /** Stops writing the previous version beside the active one and lists it as retired. */
    async retire(projection: string, version: number) {
      const multi = redis.multi().hdel(stateKey, `also:${projection}`);
      if (version > 0) multi.sadd(retiredKey, `${projection}:${version}`);
      await multi.exec();
    },
    async retired(projection: string): Promise<number[]> {
      return (await redis.smembers(retiredKey))
        .filter((m) => m.startsWith(`${projection}:`))
        .map((m) => Number(m.slice(projection.length + 1)))
        .sort((a, b) => a - b);
    },
    /** After a retired version was deleted. */
    async forget(projection: string, version: number) {
      await redis.multi().srem(retiredKey, `${projection}:${version}`).hdel(stateKey, `from:${projection}:${version}`).exec();
    },
  };
};
