import type { Redis } from 'ioredis';
import type { Delivery, Outbound } from '../../ports/delivery.ts';
import type { SessionRegistry } from '../../ports/sessions.ts';
import { namespace } from './keys.ts';

type Envelope = Outbound & { users: string[] };

const channel = (prefix: string, gatewayId: string) => `${namespace(prefix)}gw:${gatewayId}`;

/**
 * Cluster delivery (seed 003's inter-gateway coalescing): the members are resolved to the gateways
 * that hold their devices, and each frame is published once per gateway with its target users, so
 * the work per message grows with the number of gateways, not of members.
 *
 * Redis pub/sub is at most once: a gateway that is down or reconnecting misses frames, and its
 * devices get them back with `sync` (they reconnect and sync after any drop). Publishes of one
 * process leave on one connection in call order, so a gateway receives a conversation's frames in
 * order.
 */
export const createRedisDelivery = (options: {
  redis: Redis; prefix: string; sessions: SessionRegistry;
  onPublished?(gateways: number): void;
  onError(error: unknown): void;
}): Delivery => ({
  deliver(userIds, frame) {
    if (userIds.length === 0) return;
    options.sessions.gatewaysOf(userIds, Date.now()).then(async (byGateway) => {
      if (byGateway.size === 0) return;
      const pipeline = options.redis.pipeline();
      for (const [gateway, users] of byGateway) {
        pipeline.publish(channel(options.prefix, gateway), JSON.stringify({ ...frame, users } satisfies Envelope));
      }
      await pipeline.exec();
      options.onPublished?.(byGateway.size);
    }).catch(options.onError);
  },
});

/** A gateway's end: frames published for it go to its local sockets. */
export const subscribeGateway = async (options: { redis: Redis; prefix: string; gatewayId: string; local: Delivery; onError(error: unknown): void }) => {
  const subscriber = options.redis.duplicate({ connectionName: `natter-gateway-${options.gatewayId}` });
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { users, ...frame } = JSON.parse(message) as Envelope;
      options.local.deliver(users, frame);
    } catch (error) {
      options.onError(error);
    }
  });
  await subscriber.subscribe(channel(options.prefix, options.gatewayId));
  return { close: async () => { subscriber.disconnect(); } };
};
