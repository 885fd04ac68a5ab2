import type { PushConfig } from '../../app/config.ts';
import type { PushProvider, PushRegistry, PushTarget } from '../../ports/push.ts';
import { createLogPushProvider } from '../../adapters/push/log.ts';
import { createFcmProvider } from '../../adapters/push/fcm.ts';
import { createApnsProvider } from '../../adapters/push/apns.ts';
import { createWebPushProvider } from '../../adapters/push/webpush.ts';
import { createPushDispatcher } from './dispatcher.ts';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/**
 * The push providers the settings enable (README "Offline push"), behind one dispatcher with its
 * retries; a platform without credentials goes to the log provider. The embedded server and the
 * cluster's push workers both send through this, so they push alike.
 */
export const createConfiguredPushDispatcher = (push: PushConfig, registry: PushRegistry, log: Log) => {
  const providers: Partial<Record<PushTarget['platform'], PushProvider>> = {
    ...(push.webpush ? { webpush: createWebPushProvider({ ...push.webpush, ca: push.ca }) } : {}),
    ...(push.fcm ? { fcm: createFcmProvider({ ...push.fcm, ca: push.ca }) } : {}),
    ...(push.apns ? { apns: createApnsProvider({ ...push.apns, ca: push.ca }) } : {}),
  };
  return createPushDispatcher({
    providers,
    fallback: createLogPushProvider(log, { contentMayBeIncluded: push.includeContent }),
    registry,
    log,
    maxAttempts: push.maxAttempts,
    retryBaseMs: push.retryBaseMs,
  });
};
