import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;
export type Synchronous = 'FULL' | 'NORMAL';

/**
 * WAL lets readers run beside the single writer. `FULL` fsyncs the WAL on every commit: a committed
 * transaction survives power loss. `NORMAL` survives a crash of the process (kill -9) but may lose
 * the last commits on power loss, which is fine for read models that are rebuilt from the log.
 * Temporary data in memory: each read-model unit of work is a savepoint inside a longer transaction,
 * and a savepoint keeps a copy of every page it changes; in a temporary file that was about 13
 * `pwrite` calls per message at 1,000 msgs/s (strace).
 * Every connection to a file, on any thread, is set up with these.
 */
export const connectionPragmas = (synchronous: Synchronous): string[] => [
  'journal_mode = WAL',
  `synchronous = ${synchronous}`,
  'busy_timeout = 5000',
  'foreign_keys = OFF',
  'cache_size = -65536',
  'temp_store = MEMORY',
];

export const openDatabase = (path: string, synchronous: Synchronous): SqliteDatabase => {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  for (const pragma of connectionPragmas(synchronous)) db.pragma(pragma);
  return db;
};
