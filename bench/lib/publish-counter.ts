// Counts what the projector workers publish to the gateways' Redis channels for one conversation:
// new_message envelopes (one per gateway holding members' devices), per gateway, and the users named.
// This observes the engine from outside, since the workers are other processes and expose no count;
// it is the same count as startProjectorWorker().published().
import { Redis } from 'ioredis';
import { namespace as redisNamespace } from '../../adapters/redis/keys.ts';

export type Publishes = { publishes: number; messages: number; users: number; per_gateway: Record<string, number> };

export type PublishCounter = { reset: () => void; read: () => Publishes; close: () => Promise<void> };

export const publishCounter = async (redisUrl: string, prefix: string, conversationId: string): Promise<PublishCounter> => {
  const sub = new Redis(redisUrl, { lazyConnect: true, connectionName: 'natter-bench-publish-counter' });
  await sub.connect();
  const ns = redisNamespace(prefix);
  let publishes = 0,
    users = 0;
  let perGateway: Record<string, number> = {};
  let messages = new Set<string>();
  // The envelope (adapters/redis/delivery.ts) is { kind, json: <the frame, serialized once>, position, users }.
  sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
    if (!message.includes(conversationId)) return;
    try {
      const env = JSON.parse(message) as { kind?: string; json?: string; users?: string[] };
      if (env.kind !== 'message' || typeof env.json !== 'string') return;
      const f = JSON.parse(env.json) as { type?: string; conversation_id?: string; message_id?: string };
      if (f.type !== 'new_message' || f.conversation_id !== conversationId) return;
      publishes++;
      users += env.users?.length ?? 0;
      if (f.message_id) messages.add(f.message_id);
      const gw = channel.slice(`${ns}gw:`.length);
      perGateway[gw] = (perGateway[gw] ?? 0) + 1;
    } catch {
      /* not ours */
    }
  });
  await sub.psubscribe(`${ns}gw:*`);
  return {
    reset: () => {
      publishes = users = 0;
      perGateway = {};
      messages = new Set();
    },
    read: () => ({ publishes, messages: messages.size, users, per_gateway: { ...perGateway } }),
    close: async () => {
      sub.disconnect();
    },
  };
};
