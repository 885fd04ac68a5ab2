import type { Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createConfiguredPushDispatcher } from '../push-providers.ts';
import type { DirectoryStore, InboxStore } from '../../ports/read-models.ts';
import type { SessionRegistry } from '../../ports/sessions.ts';
import type { LiveDevices, PushRegistry } from '../../ports/push.ts';
import type { Reactor } from '../../projections/runtime.ts';
import { createPushCollapser } from '../../projections/push/collapse.ts';
import { pushRecipients } from '../../projections/push/reactor.ts';
import type { PushableMessage } from '../../projections/push/notification.ts';
import { pushRoutes } from '../../command-side/http/push-routes.ts';
import { ensureTopic } from '../../adapters/kafka/topics.ts';
import { createRedisPushRegistry } from '../../adapters/redis/push-registry.ts';
import { createRedisPushWindows } from '../../adapters/redis/push-windows.ts';
import { createRedisSessions } from '../../adapters/redis/sessions.ts';
import { createRedisDirectoryStore } from '../../adapters/redis/directory-store.ts';
import { createRedisInboxStore } from '../../adapters/redis/inbox-store.ts';
import { activeVersion, createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { loadClusterConfig, type ClusterConfig } from './config.ts';
import { connectKafka, connectRedis } from './engines.ts';

/**
 * What the push topic carries: one record per member with no live device and a registered target,
 * keyed by user. `content` is there only when pushes may show it (NATTER_PUSH_INCLUDE_CONTENT), and
 * never for ciphertext.
 */
export type PushRequest = {
  user_id: string; conversation_id: string; message_id: string; seq: number;
  sender_id: string; content_type: PushableMessage['content_type']; timestamp: number; content?: string;
};

/** Users with a live session anywhere in the cluster (the gateways' Redis sessions). */
export const sessionLiveDevices = (sessions: SessionRegistry, clock: () => number = Date.now): LiveDevices => ({
  liveUsers: async (userIds) => {
    const offline = new Set(await sessions.offline(userIds, clock()));
    return new Set(userIds.filter((userId) => !offline.has(userId)));
  },
});

/** The push registration routes of a gateway, over the registry every gateway and push worker shares. */
export const clusterPushRoutes = (config: Config, redis: Redis, prefix: string) => async (app: FastifyInstance) => {
  await app.register(pushRoutes, { registry: createRedisPushRegistry({ redis, prefix }), webPushAllowedHosts: config.push.webpush?.allowedHosts });
};

/**
 * For every new message, the members with no live device (per the session registry) and a registered
 * target go to the push topic. Runs in the projector workers after the read models, so a record is
 * produced at least once per message, and the worker reads counts that include it.
 */
export const pushTopicReactor = (options: {
  producer: Producer; topic: string; directory: DirectoryStore; sessions: SessionRegistry; registry: PushRegistry; includeContent: boolean;
}): Reactor => {
  const live = sessionLiveDevices(options.sessions);
  return {
    name: 'push-topic',
    react: async (events) => {
      // The lookups of a batch's messages go out together (a few round trips per batch, not per
      // message); the records keep the batch's order.
      const sent = events.flatMap((event) => event.type === 'MessageSent' ? [event.data] : []);
      const recipients = await Promise.all(sent.map(async (e) =>
        pushRecipients((await options.directory.members(e.conversation_id)).filter((m) => m !== e.sender_id), live, options.registry)));
      const messages = sent.flatMap((e, i) => recipients[i]!.map((user) => {
        const request: PushRequest = {
          user_id: user, conversation_id: e.conversation_id, message_id: e.message_id, seq: e.seq,
          sender_id: e.sender_id, content_type: e.content_type, timestamp: e.timestamp,
          ...(options.includeContent && e.content_type !== 'ciphertext' ? { content: e.content } : {}),
        };
        return { key: user, value: JSON.stringify(request) };
      }));
      if (messages.length > 0) await options.producer.send({ topic: options.topic, acks: -1, messages });
    },
  };
};

/**
 * The directory and inbox the push worker reads, at the versions the shared record names active (a
 * cluster replay switches them while workers run): read at start and on every switch, never per call.
 */
const activeReadModels = async (stores: { redis: Redis; prefix: string }, onError: (error: unknown) => void) => {
  const follower = createRedisReadModelVersions(stores).follow({ onError });
  await follower.ready;
  const directories = new Map<number, DirectoryStore>();
  const inboxes = new Map<number, InboxStore>();
  const at = <T>(made: Map<number, T>, projection: string, make: (version: number) => T) => {
    const version = activeVersion({ active: follower.active() }, projection);
    let store = made.get(version);
    if (!store) made.set(version, store = make(version));
    return store;
  };
  const dir = () => at(directories, 'directory', (version) => createRedisDirectoryStore({ ...stores, version }));
  const ibx = () => at(inboxes, 'inbox', (version) => createRedisInboxStore({ ...stores, version }));
  const directory: DirectoryStore = {
    write: (ops) => dir().write(ops), get: (id) => dir().get(id), members: (id) => dir().members(id),
    conversationsOf: (userId) => dir().conversationsOf(userId), reset: () => dir().reset(),
  };
  const inbox: InboxStore = {
    write: (ops) => ibx().write(ops), list: (userId, options) => ibx().list(userId, options),
    changedSince: (userId, position) => ibx().changedSince(userId, position), reset: () => ibx().reset(),
  };
  return { directory, inbox, stop: follower.stop };
};

const decode = (value: Buffer | null): PushRequest | null => {
  if (!value) return null;
  try {
    const r = JSON.parse(value.toString('utf8')) as Partial<PushRequest>;
    const ok = typeof r.user_id === 'string' && typeof r.conversation_id === 'string' && Number.isSafeInteger(r.seq)
      && typeof r.sender_id === 'string' && typeof r.content_type === 'string' && Number.isSafeInteger(r.timestamp);
    return ok ? r as PushRequest : null;
  } catch {
    return null;
  }
};

/**
 * The push worker: a member of the consumer group on the push topic. It collapses and rate-limits
 * like the embedded push reactor (projections/push/collapse.ts) and sends through the same configured
 * providers (app/push-providers.ts); an invalid token is removed from the shared registry.
 *
 * The topic is keyed by user, so one worker holds a user's requests at a time, but that alone does
 * not make a window hold across workers: a rebalance hands the partition to a worker that has no
 * window for the user, and a crash redelivers requests that were already pushed. The windows and the
 * highest pushed seq are therefore claimed in Redis. What waits for a window's end lives in this
 * process: a graceful stop hands it back to the topic for the partition's next owner; a crash loses
 * that trailing push (pushes are hints; the app syncs when opened).
 */
export const startPushWorker = async (config: Config = loadConfig(), cluster: ClusterConfig = loadClusterConfig()) => {
  const log = createLogger(config.logLevel).child({ role: 'push-worker' });
  const redis = await connectRedis(cluster, 'natter-push-worker');
  const kafka = await connectKafka(cluster, 'natter-push-worker');
  await ensureTopic(kafka, { topic: cluster.pushTopic, partitions: cluster.partitions });
  const stores = { redis, prefix: cluster.redisPrefix };
  const registry = createRedisPushRegistry(stores);
  const live = sessionLiveDevices(createRedisSessions({ ...stores, gatewayId: 'push-worker' }));
  const push = config.push;
  const dispatcher = createConfiguredPushDispatcher(push, registry, log);
  const readModels = await activeReadModels(stores, (error) => log.warn({ err: error }, 'push worker: read-model versions not refreshed'));
  const collapser = createPushCollapser({
    directory: readModels.directory, inbox: readModels.inbox, live, registry,
    windows: createRedisPushWindows(stores), send: dispatcher.enqueue,
    collapseMs: push.collapseMs, includeContent: push.includeContent, maxAgeMs: push.maxAgeMs, log,
  });

  const handle = async (request: PushRequest) => {
    // A new group starts at the topic's beginning, and a worker may come back after downtime.
    if (Date.now() - request.timestamp > push.maxAgeMs) return;
    // The projector saw the user offline; they may have come back, or unregistered, since.
    if ((await pushRecipients([request.user_id], live, registry)).length === 0) return;
    const { user_id: userId, ...message } = request;
    collapser.offer(userId, message);
  };

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({
    groupId: cluster.pushGroup, sessionTimeout: cluster.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(cluster.sessionTimeoutMs / 3)), allowAutoTopicCreation: false,
    // An idle fetch waits this long; it bounds how soon a stopping worker leaves and how soon the
    // others hear of the rebalance (they heartbeat between fetches), i.e. how long a handover takes.
    maxWaitTimeInMs: 1_000,
  });
  let joinedResolve!: () => void;
  const joined = new Promise<void>((resolve) => { joinedResolve = resolve; });
  consumer.on(consumer.events.GROUP_JOIN, () => joinedResolve());
  await consumer.connect();
  await consumer.subscribe({ topic: cluster.pushTopic, fromBeginning: true });
  await consumer.run({
    // A failure (Redis unreachable) throws, so the record is not committed and comes again; the
    // windows make that harmless. A record that cannot be read is skipped, loudly.
    eachMessage: async ({ message, partition }) => {
      const request = decode(message.value);
      if (!request) { log.warn({ topic: cluster.pushTopic, partition, offset: message.offset }, 'push worker: unreadable push request skipped'); return; }
      await handle(request);
    },
  });

  return {
    joined,
    stop: async () => {
      await consumer.disconnect();
      // Requests waiting for a window's end go back to the topic, to whoever gets the partition next.
      const waiting = collapser.stop();
      if (waiting.length > 0) {
        await producer.send({
          topic: cluster.pushTopic, acks: -1,
          messages: waiting.map(({ userId, message }) => ({ key: userId, value: JSON.stringify({ user_id: userId, ...message }) })),
        }).catch((error) => log.warn({ err: error, requests: waiting.length }, 'push worker: could not hand back waiting pushes'));
      }
      // Pushes in flight or waiting for a retry get a few seconds to finish.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([dispatcher.idle(), new Promise<void>((resolve) => { timer = setTimeout(resolve, 5_000); })]);
      clearTimeout(timer);
      await dispatcher.stop();
      await producer.disconnect();
      readModels.stop();
      redis.disconnect();
    },
  };
};
