import type { PushRequest } from '../../contracts/push.ts';
import type { PushConfig } from '../../app/config.ts';
import type { LiveDevices, PushQueue, PushRegistry, PushWindows } from '../../ports/push.ts';
import type { DirectoryStore, InboxStore } from '../../ports/read-models.ts';
import { createPushCollapser } from './collapse.ts';
import { createConfiguredPushDispatcher } from './providers.ts';
import { pushRecipients } from './reactor.ts';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export type PushSenderDeps = {
  config: PushConfig;
  directory: DirectoryStore;
  inbox: InboxStore;
  live: LiveDevices;
  registry: PushRegistry;
  windows: PushWindows;
  log: Log;
  clock?: () => number;
};

/**
 * The end of the push path: requests are collapsed per user and conversation (collapse.ts) and sent
 * through the configured providers (providers.ts). The embedded process feeds it straight from its
 * push reactor; a cluster push worker feeds it from the push topic.
 */
export const createPushSender = (deps: PushSenderDeps) => {
  const clock = deps.clock ?? Date.now;
  const { config } = deps;
  const dispatcher = createConfiguredPushDispatcher(config, deps.registry, deps.log);
  const collapser = createPushCollapser({
    directory: deps.directory,
    inbox: deps.inbox,
    live: deps.live,
    registry: deps.registry,
    windows: deps.windows,
    send: dispatcher.enqueue,
    collapseMs: config.collapseMs,
    includeContent: config.includeContent,
    maxAgeMs: config.maxAgeMs,
    log: deps.log,
  });

  const take = async (request: PushRequest) => {
    // A new consumer group starts at the topic's beginning, and a worker may come back after downtime.
    if (clock() - request.timestamp > config.maxAgeMs) return;
    // The reactor saw the user offline; they may have come back, or unregistered, since.
    if ((await pushRecipients([request.user_id], deps.live, deps.registry)).length === 0) return;
    const { user_id: userId, ...message } = request;
    await collapser.offer(userId, message);
  };

  const queue: PushQueue = {
    offer: async (requests) => {
      for (const request of requests) await take(request);
    },
    read: collapser.read,
    forget: collapser.forget,
  };

  return {
    queue,
    /** Stops the windows' timers and returns the requests that were waiting for a window's end. */
    stop: (): PushRequest[] => collapser.stop().map(({ userId, message }) => ({ user_id: userId, ...message }) as PushRequest),
    /** Resolves when nothing is being sent or waiting for a retry. */
    idle: dispatcher.idle,
    close: dispatcher.stop,
  };
};
export type PushSender = ReturnType<typeof createPushSender>;
