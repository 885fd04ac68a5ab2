import { openDatabase } from './database.ts';
import { createSqliteHistoryStore } from './history-store.ts';
import { createSqliteDirectoryStore } from './directory-store.ts';
import { createSqliteInboxStore } from './inbox-store.ts';
import { createSqliteReceiptStore } from './receipt-store.ts';
import { createSqliteCheckpointStore } from './checkpoint-store.ts';
import type { ReadModels } from '../../ports/read-models.ts';

/**
 * All embedded read models share one file, apart from the event log: they are rebuilt from the log,
 * so they commit with synchronous=NORMAL and never wait for an fsync.
 */
export const createSqliteReadModels = (path: string): ReadModels => {
  const db = openDatabase(path, 'NORMAL');
  return {
    history: createSqliteHistoryStore(db),
    directory: createSqliteDirectoryStore(db),
    inbox: createSqliteInboxStore(db),
    receipts: createSqliteReceiptStore(db),
    checkpoints: createSqliteCheckpointStore(db),
    // The stores' own db.transaction() calls nest as savepoints inside this one. Their methods run
    // synchronously, so no other writer interleaves between BEGIN and COMMIT.
    unitOfWork: async (work) => {
      if (db.inTransaction) return work();
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    close: async () => { db.close(); },
  };
};
