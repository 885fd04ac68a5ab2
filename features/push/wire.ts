import type { FastifyInstance } from 'fastify';
import type { PushConfig } from '../../app/config.ts';
import type { LiveDevices, PushQueue, PushRegistry, PushWindows } from '../../ports/push.ts';
import type { ReadModels } from '../../ports/read-models.ts';
import { pushRoutes } from './routes.ts';
import { pushReactor } from './reactor.ts';
import { createPushSender } from './sender.ts';

export type PushStores = {
  /** Where devices register (SQLite embedded, Redis in the cluster). */
  registry: PushRegistry;
  /** The collapse windows (memory embedded, Redis when push workers share a consumer group). */
  windows: PushWindows;
  /** Who has a live device now (the socket registry embedded, the session registry in the cluster). */
  live: LiveDevices;
};

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/**
 * Offline push, from the stores a profile gives it: the registration routes (every gateway), the
 * reactor that finds whom to push (after the read models), and the sender that collapses and sends
 * (in process embedded; the push worker in the cluster, fed by the push topic).
 */
export const wirePush = (config: PushConfig, stores: PushStores, shared: { readModels: Pick<ReadModels, 'directory' | 'inbox'>; log: Log }) => ({
  routes: async (app: FastifyInstance) => {
    await app.register(pushRoutes, { registry: stores.registry, webPushAllowedHosts: config.webpush?.allowedHosts });
  },
  reactor: (queue: PushQueue) =>
    pushReactor({
      directory: shared.readModels.directory,
      inbox: shared.readModels.inbox,
      live: stores.live,
      registry: stores.registry,
      queue,
      includeContent: config.includeContent,
      maxAgeMs: config.maxAgeMs,
    }),
  sender: () =>
    createPushSender({
      config,
      directory: shared.readModels.directory,
      inbox: shared.readModels.inbox,
      live: stores.live,
      registry: stores.registry,
      windows: stores.windows,
      log: shared.log,
    }),
});
export type PushFeature = ReturnType<typeof wirePush>;
