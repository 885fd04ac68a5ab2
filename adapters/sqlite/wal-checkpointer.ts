import { Worker } from 'node:worker_threads';
import { connectionPragmas, type SqliteDatabase, type Synchronous } from './database.ts';

/** Past this many WAL pages (64 MiB) the writer checkpoints by itself, should the checkpointer fall behind. */
const FALLBACK_PAGES = 16_384;

/**
 * A checkpoint copies the WAL's pages back into the database file and fsyncs both. SQLite runs it
 * inside the COMMIT that crosses 1,000 WAL pages, on the writer's thread: for the read models, the
 * event loop. This moves it to a thread with its own connection, which checkpoints every
 * `intervalMs` without waiting for the writer; the writer keeps a distant threshold as a fallback.
 */
export const startWalCheckpointer = (db: SqliteDatabase, options: { synchronous: Synchronous; intervalMs?: number }) => {
  if (db.memory) return { stop: async () => {} };
  db.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  const worker = new Worker(new URL('./wal-checkpointer.worker.js', import.meta.url), {
    workerData: { path: db.name, pragmas: connectionPragmas(options.synchronous), intervalMs: options.intervalMs ?? 100 },
    // Plain JavaScript needs none of this process's flags (a TypeScript loader, --input-type, …).
    execArgv: [],
  });
  worker.unref();
  // Losing the checkpointer only brings back the inline checkpoints of the fallback: worth a warning, not a failure.
  worker.on('error', (error) => process.emitWarning(`WAL checkpointer for ${db.name} stopped: ${error.message}`));
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return {
    stop: async () => {
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
};
