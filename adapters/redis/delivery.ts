import type { Redis } from 'ioredis';
import type { Delivery, Outbound } from '../../ports/delivery.ts';
import { reportOutages } from './client.ts';
import { namespace } from './keys.ts';
import { sessionUserKey } from './sessions.ts';

type Envelope = Outbound & { users: string[] };

const channel = (prefix: string, gatewayId: string) => `${namespace(prefix)}gw:${gatewayId}`;

/**
 * Resolves each frame's users to the gateways holding their live sessions (adapters/redis/sessions.ts:
 * `ses:user:<u>`, members `<gateway>|<session>` scored by expiry) and publishes the frame once per
 * gateway with its users, in one round trip: the lookup and the publishes are one script.
 * ARGV: now, the channel prefix, the session key prefix, the number of blocked gateways and their
 * ids (they have frames held: nothing is published to them), then per frame its JSON, the number of
 * its users and their ids. A gateway that hears nothing is blocked for the frames after it too, so
 * that none overtakes it. Returns the frames not heard (gateway, envelope, … in order), the gateways
 * heard, and each frame's number of gateways.
 */
const RESOLVE_AND_PUBLISH = `
local now, channels, users = ARGV[1], ARGV[2], ARGV[3]
local blocked, heard, unheard, counts, gatewaysOf = {}, {}, {}, {}, {}
local i = 5
for _ = 1, tonumber(ARGV[4]) do blocked[ARGV[i]] = true; i = i + 1 end
while i <= #ARGV do
  local frame, targets = ARGV[i], tonumber(ARGV[i + 1])
  local members, order = {}, {}
  for k = i + 2, i + 1 + targets do
    local u = ARGV[k]
    local gateways = gatewaysOf[u]
    if not gateways then
      gateways = {}
      local seen = {}
      -- A key that is not a session set (pcall: an error object) counts as no live session: an
      -- error raised here would come after this call's earlier publishes, which a retry repeats.
      local live = redis.pcall('ZRANGEBYSCORE', users .. u, now, '+inf')
      if type(live) ~= 'table' or live.err then live = {} end
      for _, m in ipairs(live) do
        local bar = string.find(m, '|', 1, true)
        local g = bar and string.sub(m, 1, bar - 1)
        if g and not seen[g] then seen[g] = true; gateways[#gateways + 1] = g end
      end
      gatewaysOf[u] = gateways
    end
    for _, g in ipairs(gateways) do
      if not members[g] then members[g] = {}; order[#order + 1] = g end
      table.insert(members[g], u)
    end
  end
  counts[#counts + 1] = #order
  for _, g in ipairs(order) do
    local envelope = string.sub(frame, 1, -2) .. ',"users":' .. cjson.encode(members[g]) .. '}'
    if not blocked[g] and redis.call('PUBLISH', channels .. g, envelope) > 0 then
      heard[g] = true
    else
      blocked[g] = true
      unheard[#unheard + 1] = g
      unheard[#unheard + 1] = envelope
    end
  end
  i = i + 2 + targets
end
local heardList = {}
for g in pairs(heard) do heardList[#heardList + 1] = g end
return { unheard, heardList, counts }`;

type Scripts = {
  natterResolveAndPublish(...args: Array<string | number>): Promise<[string[], string[], number[]]>;
};

/** Per script call at most (the script runs while Redis serves nothing else). */
const MAX_USERS_PER_CALL = 5_000;
const MAX_BYTES_PER_CALL = 1_000_000;

/**
 * Cluster delivery (seed 003's inter-gateway coalescing): the members are resolved to the gateways
 * that hold their devices, and each frame is published once per gateway with its target users, so
 * the work per message grows with the number of gateways, not of members. The lookup and the
 * publishes are one script, one round trip (the fast path's latency is a chain of round trips).
 *
 * Redis pub/sub is at most once: a gateway that is down misses frames, and its devices get them back
 * with `sync` (they reconnect and sync after any drop). A gateway whose own connection to Redis is
 * re-subscribing (after a Redis restart) is a different case: its devices stay connected and would
 * never know they missed a frame, and the next frames would move their cursors past it. PUBLISH says
 * how many subscribers heard it, so a frame that reached nobody is held, with every later frame for
 * that gateway, and published again, in order, until the gateway hears it; after `holdMs` the gateway
 * is taken for gone (its devices reconnect elsewhere and sync) and what was held for it is dropped.
 *
 * One script or MULTI at a time, in call order: a gateway receives a conversation's frames in order,
 * and a re-subscription cannot fall between two publishes to a gateway and let a later frame overtake
 * a held one. A script that fails (Redis restarting) is run again for the same frames, in order,
 * until they are older than `holdMs`; devices drop a frame that arrives twice by its message id.
 */
export const createRedisDelivery = (options: {
  redis: Redis;
  prefix: string;
  onPublished?(gateways: number): void;
  onError(error: unknown): void;
  holdMs?: number;
  /** Frames held per gateway at most; past it the gateway is taken for gone, as past holdMs. */
  maxHeld?: number;
}): Delivery => {
  const { redis, holdMs = 10_000, maxHeld = 10_000 } = options;
  // The script's keys are computed inside it (numberOfKeys 0): fine on one Redis server, which is
  // what the cluster profile runs; a Redis Cluster would need the keys declared (and one slot).
  redis.defineCommand('natterResolveAndPublish', { numberOfKeys: 0, lua: RESOLVE_AND_PUBLISH });
  const scripts = redis as unknown as Scripts;
  const channels = channel(options.prefix, '');
  const sessionsOf = sessionUserKey(options.prefix, '');
  const held = new Map<string, { since: number; retryAt: number; attempt: number; messages: string[] }>();
  /** Gateways that stayed silent past holdMs: frames to them are published once, not held, until one is heard. */
  const gone = new Set<string>();
  /** Frames not published yet, in call order. */
  const unresolved: Array<{ users: readonly string[]; frame: Outbound; at: number }> = [];
  let pumping = false;
  let timer: NodeJS.Timeout | undefined;

  /** `previous`: the gateway's earlier hold, whose clock keeps running; none when Redis itself failed (not the gateway's silence). */
  const hold = (gateway: string, messages: string[], now: number, previous?: { since: number; attempt: number }) => {
    const since = previous?.since ?? now;
    if (gone.has(gateway)) return;
    if (now - since > holdMs || messages.length > maxHeld) {
      options.onError(new Error(`gateway ${gateway} heard nothing for ${now - since} ms: ${messages.length} frame(s) dropped; its devices recover by sync`));
      gone.add(gateway);
      return;
    }
    const attempt = (previous?.attempt ?? 0) + 1;
    held.set(gateway, { since, attempt, retryAt: now + Math.min(50 * 2 ** attempt, 1_000), messages });
  };

  /** Held frames that are due, published again in one MULTI. */
  const retryHeld = async (now: number) => {
    const sending = new Map<string, { messages: string[]; previous: { since: number; attempt: number } }>();
    for (const [gateway, h] of held)
      if (h.retryAt <= now) {
        sending.set(gateway, { messages: h.messages, previous: h });
        held.delete(gateway);
      }
    if (sending.size === 0) return;
    const multi = redis.multi();
    for (const [gateway, { messages }] of sending) for (const message of messages) multi.publish(channel(options.prefix, gateway), message);
    let replies: Array<[Error | null, unknown]> | null = null;
    try {
      replies = await multi.exec();
    } catch (error) {
      options.onError(error);
    }
    let i = 0;
    for (const [gateway, { messages, previous }] of sending) {
      const heard = replies !== null && Number(replies[i]?.[1] ?? 0) > 0;
      i += messages.length;
      if (heard) gone.delete(gateway);
      // Not heard, or not known to be (EXEC failed): publish again; devices drop a duplicate by message_id.
      else hold(gateway, messages, Date.now(), replies === null ? undefined : previous);
    }
  };

  /** The oldest frames not published yet, resolved and published in one script call. */
  const publishFresh = async (): Promise<boolean> => {
    let n = 0;
    let result: [string[], string[], number[]];
    try {
      const args: Array<string | number> = [Date.now(), channels, sessionsOf, held.size, ...held.keys()];
      let users = 0;
      let bytes = 0;
      while (n < unresolved.length) {
        const { users: targets, frame } = unresolved[n]!;
        const json = JSON.stringify(frame);
        if (n > 0 && (users + targets.length > MAX_USERS_PER_CALL || bytes + json.length > MAX_BYTES_PER_CALL)) break;
        args.push(json, targets.length);
        for (const target of targets) args.push(target);
        users += targets.length;
        bytes += json.length;
        n++;
      }
      result = await scripts.natterResolveAndPublish(...args);
    } catch (error) {
      options.onError(error);
      const stale = unresolved.findIndex((b) => Date.now() - b.at <= holdMs);
      if (stale !== 0) {
        const dropped = unresolved.splice(0, stale === -1 ? unresolved.length : stale).length;
        options.onError(new Error(`${dropped} frame(s) dropped: they could not be published for ${holdMs} ms; devices recover by sync`));
      }
      return false;
    }
    unresolved.splice(0, n);
    const [unheard, heard, counts] = result;
    for (const gateway of heard) gone.delete(gateway);
    const notHeard = new Map<string, string[]>();
    for (let i = 0; i < unheard.length; i += 2) {
      const gateway = unheard[i]!;
      let list = notHeard.get(gateway);
      if (!list) notHeard.set(gateway, (list = []));
      list.push(unheard[i + 1]!);
    }
    for (const [gateway, messages] of notHeard) {
      const backlog = held.get(gateway);
      // Behind a backlog that was not due: the frames wait behind it, on its clock.
      if (backlog) backlog.messages.push(...messages);
      else hold(gateway, messages, Date.now());
    }
    for (const count of counts) if (count > 0) options.onPublished?.(count);
    return true;
  };

  const pump = async () => {
    if (pumping) return;
    pumping = true;
    clearTimeout(timer);
    try {
      for (let attempt = 0; ; ) {
        // Closed for good (the process is stopping): nothing will be heard again.
        if (redis.status === 'end') {
          held.clear();
          unresolved.length = 0;
          break;
        }
        await retryHeld(Date.now());
        if (unresolved.length === 0) break;
        if (await publishFresh()) attempt = 0;
        else await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** ++attempt, 1_000)));
      }
    } finally {
      pumping = false;
      const next = Math.min(...[...held.values()].map((h) => h.retryAt));
      if (Number.isFinite(next)) {
        timer = setTimeout(() => void pump().catch(options.onError), Math.max(0, next - Date.now()));
        timer.unref();
      }
    }
  };

  return {
    deliver(userIds, frame) {
      if (userIds.length === 0) return;
      unresolved.push({ users: userIds, frame, at: Date.now() });
      void pump().catch(options.onError);
    },
  };
};

/** A gateway's end: frames published for it go to its local sockets. */
export const subscribeGateway = async (options: { redis: Redis; prefix: string; gatewayId: string; local: Delivery; onError(error: unknown): void }) => {
  const name = `natter-gateway-${options.gatewayId}`;
  const subscriber = options.redis.duplicate({ connectionName: name });
  // ioredis subscribes again by itself after a reconnect (autoResubscribe).
  reportOutages(subscriber, name, { warn: (_, msg) => options.onError(new Error(`${name}: ${msg}`)) });
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { users, ...frame } = JSON.parse(message) as Envelope;
      options.local.deliver(users, frame);
    } catch (error) {
      options.onError(error);
    }
  });
  await subscriber.subscribe(channel(options.prefix, options.gatewayId));
  return {
    close: async () => {
      subscriber.disconnect();
    },
  };
};
