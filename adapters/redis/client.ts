import { Redis } from 'ioredis';
import { globEscape } from './keys.ts';

export type RedisStoreOptions = { redis: Redis; prefix: string };

export const openRedis = (url: string) => new Redis(url, { maxRetriesPerRequest: 3, connectionName: 'natter-read-models' });

/**
 * Deletes every key under `base` with SCAN + UNLINK in batches: never KEYS (which blocks the server
 * for the whole keyspace) and never FLUSHDB (other namespaces may share the server).
 */
export const deleteUnder = async (redis: Redis, base: string, count = 1000): Promise<number> => {
  const match = `${globEscape(base)}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', count);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
};

/** Runs a MULTI and throws the first error of a queued command (EXEC itself succeeds even then). */
export const execOrThrow = async (multi: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> => {
  const replies = await multi.exec();
  if (replies === null) throw new Error('redis transaction aborted');
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, value]) => value);
};

/**
 * How long a dropped connection waits before each new attempt: quickly at first, then once a second
 * at most. ioredis' default climbs to 5 s, so a Redis that is back could go unnoticed for 5 s more;
 * one attempt a second per connection costs nothing while it is down. The jitter keeps every process
 * from reconnecting in the same instant.
 */
export const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** (attempt - 1), 1_000) + Math.floor(Math.random() * 100);

/**
 * ioredis reconnects by itself and emits 'error' on every failed attempt; with no listener it prints
 * "Unhandled error event" to stderr each time. This reports an outage once when it starts and once
 * when the connection is ready again (with how long it lasted), and keeps the stderr quiet.
 */
export const reportOutages = (redis: Redis, name: string, log: { warn(obj: object, msg: string): void }) => {
  let since: number | undefined;
  const down = (error?: Error) => {
    if (since !== undefined) return;
    since = Date.now();
    log.warn({ err: error, redis: name }, 'redis connection lost; reconnecting with backoff');
  };
  redis.on('error', (error: Error) => down(error));
  redis.on('reconnecting', () => down());
  redis.on('ready', () => {
    if (since === undefined) return;
    log.warn({ redis: name, down_ms: Date.now() - since }, 'redis connection back');
    since = undefined;
  });
};

/**
 * Runs `command` unless the connection is down or the reply is late: then `undefined`, at once or
 * after `timeoutMs`. For a caller that has a fallback and a person waiting: a command left in ioredis'
 * offline queue would wait through the whole outage and then run late.
 */
export const ifAnswered = async <T>(redis: Redis, command: () => Promise<T>, timeoutMs: number): Promise<T | undefined> => {
  if (redis.status !== 'ready') return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    // A command that failed because the connection dropped under it is as good as unanswered; any
    // other failure (a script error) is a bug and is thrown.
    const answered = command().catch((error: unknown) => {
      if (redis.status === 'ready') throw error;
      return undefined;
    });
    return await Promise.race([answered, late]);
  } finally {
    clearTimeout(timer);
  }
};
