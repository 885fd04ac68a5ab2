import type { Redis } from 'ioredis';
import type { Delivery, Outbound } from '../../ports/delivery.ts';
import type { SessionRegistry } from '../../ports/sessions.ts';
import { reportOutages } from './client.ts';
import { namespace } from './keys.ts';

type Envelope = Outbound & { users: string[] };

const channel = (prefix: string, gatewayId: string) => `${namespace(prefix)}gw:${gatewayId}`;

/**
 * Cluster delivery (seed 003's inter-gateway coalescing): the members are resolved to the gateways
 * that hold their devices, and each frame is published once per gateway with its target users, so
 * the work per message grows with the number of gateways, not of members.
 *
 * Redis pub/sub is at most once: a gateway that is down misses frames, and its devices get them back
 * with `sync` (they reconnect and sync after any drop). A gateway whose own connection to Redis is
 * re-subscribing (after a Redis restart) is a different case: its devices stay connected and would
 * never know they missed a frame, and the next frames would move their cursors past it. PUBLISH says
 * how many subscribers heard it, so a frame that reached nobody is held, with every later frame for
 * that gateway, and published again, in order, until the gateway hears it; after `holdMs` the gateway
 * is taken for gone (its devices reconnect elsewhere and sync) and what was held for it is dropped.
 *
 * Frames leave in one MULTI at a time, in call order: a gateway receives a conversation's frames in
 * order, and within one EXEC every publish to a gateway sees the same subscribers (a re-subscription
 * cannot fall between two of them and let a later frame overtake a held one).
 */
export const createRedisDelivery = (options: {
  redis: Redis;
  prefix: string;
  sessions: SessionRegistry;
  onPublished?(gateways: number): void;
  onError(error: unknown): void;
  holdMs?: number;
  /** Frames held per gateway at most; past it the gateway is taken for gone, as past holdMs. */
  maxHeld?: number;
}): Delivery => {
  const { redis, holdMs = 10_000, maxHeld = 10_000 } = options;
  type Frame = { gateway: string; message: string };
  const fresh: Frame[] = [];
  const held = new Map<string, { since: number; retryAt: number; attempt: number; messages: string[] }>();
  /** Gateways that stayed silent past holdMs: frames to them are published once, not held, until one is heard. */
  const gone = new Set<string>();
  let flushing = false;
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

  const flush = async () => {
    if (flushing) return;
    flushing = true;
    clearTimeout(timer);
    try {
      for (;;) {
        const now = Date.now();
        // Held frames that are due go first, then the fresh ones; a gateway with a backlog that is not
        // due yet keeps its fresh frames behind the backlog.
        const sending = new Map<string, string[]>();
        const retried = new Map<string, { since: number; attempt: number }>();
        for (const [gateway, h] of held)
          if (h.retryAt <= now) {
            sending.set(gateway, h.messages);
            retried.set(gateway, h);
            held.delete(gateway);
          }
        for (const { gateway, message } of fresh.splice(0)) {
          const waiting = held.get(gateway);
          if (waiting) {
            waiting.messages.push(message);
            continue;
          }
          let list = sending.get(gateway);
          if (!list) sending.set(gateway, (list = []));
          list.push(message);
        }
        if (sending.size === 0) break;
        // Closed for good (the process is stopping): nothing will be heard again.
        if (redis.status === 'end') {
          held.clear();
          break;
        }
        const multi = redis.multi();
        for (const [gateway, messages] of sending) for (const message of messages) multi.publish(channel(options.prefix, gateway), message);
        let replies: Array<[Error | null, unknown]> | null = null;
        try {
          replies = await multi.exec();
        } catch (error) {
          options.onError(error);
        }
        let i = 0;
        for (const [gateway, messages] of sending) {
          const heard = replies !== null && Number(replies[i]?.[1] ?? 0) > 0;
          i += messages.length;
          if (heard) {
            gone.delete(gateway);
            continue;
          }
          // Not heard, or not known to be (EXEC failed): publish again; devices drop a duplicate by message_id.
          hold(gateway, messages, Date.now(), replies === null ? undefined : retried.get(gateway));
        }
      }
    } finally {
      flushing = false;
    }
    const next = Math.min(...[...held.values()].map((h) => h.retryAt));
    if (Number.isFinite(next)) {
      timer = setTimeout(() => void flush().catch(options.onError), Math.max(0, next - Date.now()));
      timer.unref();
    }
  };

  /**
   * Frames waiting for their members to be resolved to gateways, in call order. One lookup covers
   * every frame that queued while the previous one was out; a failed lookup (Redis restarting) is
   * retried, in order, rather than dropping the frames, until they are older than `holdMs`.
   */
  const unresolved: Array<{ users: readonly string[]; frame: Outbound; at: number }> = [];
  let resolving = false;
  const resolve = async () => {
    if (resolving) return;
    resolving = true;
    try {
      for (let attempt = 0; unresolved.length > 0; ) {
        let users = 0;
        let n = 0;
        while (n < unresolved.length && (n === 0 || users + unresolved[n]!.users.length <= 5_000)) users += unresolved[n++]!.users.length;
        const batch = unresolved.slice(0, n);
        let byGateway: Map<string, string[]>;
        try {
          byGateway = await options.sessions.gatewaysOf([...new Set(batch.flatMap((b) => b.users))], Date.now());
        } catch (error) {
          options.onError(error);
          const stale = unresolved.findIndex((b) => Date.now() - b.at <= holdMs);
          if (stale !== 0) {
            const dropped = unresolved.splice(0, stale === -1 ? unresolved.length : stale).length;
            options.onError(new Error(`${dropped} frame(s) dropped: their gateways could not be looked up for ${holdMs} ms; devices recover by sync`));
          }
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** ++attempt, 1_000)));
          continue;
        }
        attempt = 0;
        unresolved.splice(0, n);
        const gatewaysOfUser = new Map<string, string[]>();
        for (const [gateway, members] of byGateway)
          for (const user of members) {
            const list = gatewaysOfUser.get(user);
            if (list) list.push(gateway);
            else gatewaysOfUser.set(user, [gateway]);
          }
        for (const { users: targets, frame } of batch) {
          const perGateway = new Map<string, string[]>();
          for (const user of targets)
            for (const gateway of gatewaysOfUser.get(user) ?? []) {
              const list = perGateway.get(gateway);
              if (list) list.push(user);
              else perGateway.set(gateway, [user]);
            }
          if (perGateway.size === 0) continue;
          for (const [gateway, members] of perGateway) fresh.push({ gateway, message: JSON.stringify({ ...frame, users: members } satisfies Envelope) });
          options.onPublished?.(perGateway.size);
        }
        void flush().catch(options.onError);
      }
    } finally {
      resolving = false;
    }
  };

  return {
    deliver(userIds, frame) {
      if (userIds.length === 0) return;
      unresolved.push({ users: userIds, frame, at: Date.now() });
      void resolve().catch(options.onError);
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
