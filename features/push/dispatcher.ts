import type { PushNotification, PushProvider, PushRegistry, PushTarget } from '../../ports/push.ts';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export type DispatcherOptions = {
  providers: Partial<Record<PushTarget['platform'], PushProvider>>;
  /** For platforms without a configured provider. */
  fallback: PushProvider;
  registry: PushRegistry;
  log: Log;
  maxAttempts: number;
  retryBaseMs: number;
  /** Longest wait between two attempts, whatever Retry-After says. */
  maxRetryDelayMs?: number;
  concurrency?: number;
  /** Queued pushes beyond this are dropped (oldest first): a push is a hint, the app syncs anyway. */
  maxQueue?: number;
  random?: () => number;
};

type Job = { target: PushTarget; notification: PushNotification; attempt: number };

/**
 * Sends pushes off the projection path, with bounded concurrency and bounded retries. A 5xx, 429 or
 * network failure is retried with exponential backoff and jitter, never sooner than the service's
 * Retry-After; a Retry-After also pauses the whole provider, so a throttled service is not hammered
 * by the other queued pushes (no retry storm). A target the service calls invalid is unregistered.
 */
export const createPushDispatcher = (options: DispatcherOptions) => {
  const concurrency = options.concurrency ?? 8;
  const maxQueue = options.maxQueue ?? 10_000;
  const maxDelay = options.maxRetryDelayMs ?? 60_000;
  const random = options.random ?? Math.random;
  const queue: Job[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const pausedUntil = new Map<PushProvider, number>();
  let running = 0;
  let stopped = false;
  const idleWaiters: Array<() => void> = [];

  const providerFor = (target: PushTarget) => options.providers[target.platform] ?? options.fallback;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
  };

  const settleIdle = () => {
    if (running === 0 && queue.length === 0 && timers.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const pump = () => {
    while (!stopped && running < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      const provider = providerFor(job.target);
      const wait = (pausedUntil.get(provider) ?? 0) - Date.now();
      if (wait > 0) {
        later(wait, () => enqueueJob(job));
        continue;
      }
      running++;
      void run(job, provider).finally(() => {
        running--;
        pump();
        settleIdle();
      });
    }
    settleIdle();
  };

  const enqueueJob = (job: Job) => {
    if (stopped) return;
    if (queue.length >= maxQueue) {
      const dropped = queue.shift()!;
      options.log.warn({ user_id: dropped.target.user_id, platform: dropped.target.platform }, 'push queue full; dropped the oldest push');
    }
    queue.push(job);
    pump();
  };

  const run = async (job: Job, provider: PushProvider) => {
    const { target } = job;
    const result = await provider.send(target, job.notification);
    if (result.ok) return;
    const where = { user_id: target.user_id, device_id: target.device_id, platform: target.platform, attempt: job.attempt, detail: result.detail };
    switch (result.reason) {
      case 'invalid_target':
        options.log.info(where, 'push target no longer valid; unregistered');
        await options.registry.invalidate(target);
        return;
      case 'failed':
        options.log.warn(where, 'push failed; not retried');
        return;
      case 'retry': {
        if (result.retryAfterMs !== undefined)
          pausedUntil.set(provider, Math.max(pausedUntil.get(provider) ?? 0, Date.now() + Math.min(maxDelay, result.retryAfterMs)));
        if (job.attempt >= options.maxAttempts) {
          options.log.warn(where, 'push failed after the last attempt');
          return;
        }
        const backoff = options.retryBaseMs * 2 ** (job.attempt - 1) * (0.5 + random());
        const delay = Math.min(maxDelay, Math.max(backoff, result.retryAfterMs ?? 0));
        later(delay, () => enqueueJob({ ...job, attempt: job.attempt + 1 }));
      }
    }
  };

  return {
    enqueue: (target: PushTarget, notification: PushNotification) => enqueueJob({ target, notification, attempt: 1 }),
    /** Resolves when nothing is queued, running or waiting for a retry. */
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      }),
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      queue.length = 0;
      for (const provider of new Set([...Object.values(options.providers), options.fallback])) await provider?.close?.();
    },
  };
};
export type PushDispatcher = ReturnType<typeof createPushDispatcher>;
