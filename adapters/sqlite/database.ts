import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/**
 * WAL lets readers run beside the single writer. `FULL` fsyncs the WAL on every commit: a committed
 * transaction survives power loss. `NORMAL` survives a crash of the process (kill -9) but may lose
 * the last commits on power loss, which is fine for read models that are rebuilt from the log.
 */
export const openDatabase = (path: string, synchronous: 'FULL' | 'NORMAL'): SqliteDatabase => {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
  db.pragma('cache_size = -65536');
  return db;
};
