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
