import type { PushProvider } from '../../ports/push.ts';

type Log = { info(obj: object, msg: string): void };

/**
 * The development provider, used for every platform that has no credentials configured: it prints
 * what would be sent. The body is left out when it may carry message content (logs never do).
 */
export const createLogPushProvider = (log: Log, options: { contentMayBeIncluded: boolean }): PushProvider => ({
  platform: 'log',
  send: async (target, notification) => {
    const { body, ...rest } = notification;
    log.info(
      {
        push: {
          platform: target.platform,
          user_id: target.user_id,
          device_id: target.device_id,
          ...rest,
          ...(options.contentMayBeIncluded ? {} : { body }),
        },
      },
      'push (log provider: nothing is sent)',
    );
    return { ok: true };
  },
});
