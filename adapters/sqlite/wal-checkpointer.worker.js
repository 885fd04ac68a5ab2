// Copies a database's WAL back into its file, on a thread of its own (see wal-checkpointer.ts).
// Plain JavaScript: a worker thread does not inherit the TypeScript loader that bin/natter.js registers.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ path: string, pragmas: string[], intervalMs: number }} */
const { path, pragmas, intervalMs } = workerData;
const db = new Database(path);
for (const pragma of pragmas) db.pragma(pragma);
// PASSIVE never waits for the writer: it copies what is committed and leaves the rest for the next round.
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try {
    checkpoint.run();
  } catch {
    // Busy (a recovery after a crash holds the file): the next round tries again.
  }
}, intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
