import { openDatabase, type SqliteDatabase } from './database.ts';
import { createSqliteHistoryStore } from './history-store.ts';
import { createSqliteDirectoryStore } from './directory-store.ts';
import { createSqliteInboxStore } from './inbox-store.ts';
import { createSqliteReceiptStore } from './receipt-store.ts';
import { createSqliteUserStore } from './user-store.ts';
import { createSqliteCheckpointStore } from './checkpoint-store.ts';
import { createSqliteSearchIndex } from './search-index.ts';
import { startWalCheckpointer } from './wal-checkpointer.ts';
import type { ReadModels } from '../../ports/read-models.ts';

export type SqliteReadModelsOptions = {
  /** How long applied units of work may wait for their shared commit (the read models' group commit). */
  commitEveryMs?: number;
};

/**
 * All embedded read models share one file, apart from the event log: they are rebuilt from the log,
 * so they commit with synchronous=NORMAL and never wait for an fsync.
 *
 * Units of work share one open transaction that commits at most `commitEveryMs` after it began. A
 * commit writes every page it dirtied to the WAL, and under load the same pages (a conversation's
 * last history page, its inbox row, the checkpoints) are dirtied by every batch: committing once per
 * window instead of once per batch writes them once. The query side reads through this connection,
 * so it sees each unit as soon as it is applied. A crash loses at most the last window, together
 * with the checkpoints saved in it, so the projections replay it on start. A failed commit throws
 * out of the timer and stops the process (so does a unit failure that takes the window's transaction
 * with it): the units it held were reported as applied, and only a restart from the committed
 * checkpoints brings the read models back in line with the log.
 */
/**
 * The shape of the read-model tables. A file written by another shape is emptied (checkpoints
 * included) at open, and the projections rebuild it from the log: read models are disposable.
 */
export const READ_MODEL_SCHEMA = 4;

const migrate = (db: SqliteDatabase) => {
  if (db.pragma('user_version', { simple: true }) === READ_MODEL_SCHEMA) return;
  // Virtual tables (search's FTS5) first: dropping one drops its shadow tables, hence IF EXISTS.
  const tables = db
    .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY sql LIKE 'CREATE VIRTUAL TABLE%' DESC")
    .pluck()
    .all();
  db.transaction(() => {
    for (const table of tables) db.exec(`DROP TABLE IF EXISTS "${table.replaceAll('"', '""')}"`);
  })();
  db.pragma(`user_version = ${READ_MODEL_SCHEMA}`);
};

export const createSqliteReadModels = (path: string, options: SqliteReadModelsOptions = {}): ReadModels => {
  const db = openDatabase(path, 'NORMAL');
  migrate(db);
  const checkpointer = startWalCheckpointer(db, { synchronous: 'NORMAL' });
  const commitEveryMs = options.commitEveryMs ?? 200;
  let began = 0;
  /** Units applied in the open window: lost together if its transaction is. */
  let applied = 0;
  let inUnit = false;
  let timer: NodeJS.Timeout | undefined;

  const lost = (error: unknown) => {
    if (db.inTransaction) db.exec('ROLLBACK');
    applied = 0;
    setImmediate(() => {
      throw new Error('read-model commit failed: restart to replay from the committed checkpoints', { cause: error });
    });
  };
  /**
   * An erasure is being applied: its words must leave the file's free pages and the WAL, not only the
   * tables. secure_delete zeroes what is deleted from then on (only then: it costs I/O).
   */
  let scrub = false;
  const scrubAfterCommit = () => {
    scrub = true;
    db.pragma('secure_delete = ON');
  };
  const commit = () => {
    clearTimeout(timer);
    timer = undefined;
    applied = 0;
    if (db.inTransaction) db.exec('COMMIT');
    if (scrub) {
      // TRUNCATE writes every page back and empties the WAL, old frames included. Busy (a reader's
      // snapshot holds it): the next commit tries again.
      const [{ busy }] = db.pragma('wal_checkpoint(TRUNCATE)') as [{ busy: number }];
      scrub = busy !== 0;
      if (!scrub) db.pragma('secure_delete = OFF');
    }
  };
  const commitOrCrash = () => {
    try {
      commit();
    } catch (error) {
      lost(error);
    }
  };
  const commitLater = () => {
    // A unit in progress (it awaits between stores) commits itself when it ends.
    if (inUnit) timer = setTimeout(commitLater, 1).unref();
    else commitOrCrash();
  };

  const history = createSqliteHistoryStore(db);
  return {
    history,
    directory: createSqliteDirectoryStore(db),
    inbox: createSqliteInboxStore(db),
    receipts: createSqliteReceiptStore(db),
    users: createSqliteUserStore(db),
    search: createSqliteSearchIndex(db, scrubAfterCommit),
    checkpoints: createSqliteCheckpointStore(db),
    // The stores' own db.transaction() calls nest as savepoints inside the unit's savepoint.
    unitOfWork: async (work) => {
      if (inUnit) return work();
      if (!db.inTransaction) {
        db.exec('BEGIN IMMEDIATE');
        began = Date.now();
        // Unreferenced: a process that exits without close() loses the window as a crash would.
        timer = setTimeout(commitLater, commitEveryMs).unref();
      }
      db.exec('SAVEPOINT unit_of_work');
      inUnit = true;
      try {
        const result = await work();
        db.exec('RELEASE unit_of_work');
        applied += 1;
        return result;
      } catch (error) {
        // Only this unit is undone: the units before it in the window stay applied, unless SQLite
        // rolled the whole transaction back (an I/O error, a full disk), taking them with it.
        if (db.inTransaction) db.exec('ROLLBACK TO unit_of_work; RELEASE unit_of_work');
        else if (applied > 0) lost(error);
        throw error;
      } finally {
        inUnit = false;
        // A busy loop (a rebuild) never lets the timer run: commit on the way out instead.
        if (db.inTransaction && Date.now() - began >= commitEveryMs) commitOrCrash();
      }
    },
    close: async () => {
      if (!db.open) return;
      history.finishRebuild();
      commit();
      await checkpointer.stop();
      db.close();
    },
  };
};
