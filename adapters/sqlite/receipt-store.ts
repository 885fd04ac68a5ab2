import type { SqliteDatabase } from './database.ts';
import type { ReceiptRow, ReceiptStore, ReceiptWrite } from '../../ports/read-models.ts';

const schema = `
CREATE TABLE IF NOT EXISTS receipts (
  conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, delivered_seq INTEGER NOT NULL, read_seq INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;`;

/** Per-member watermarks; max() merging makes every write idempotent and order-insensitive. */
export const createSqliteReceiptStore = (db: SqliteDatabase): ReceiptStore => {
  db.exec(schema);
  const merge = db.prepare(`INSERT INTO receipts VALUES (@conversation_id, @user_id, @delivered_seq, @read_seq)
    ON CONFLICT DO UPDATE SET delivered_seq = max(delivered_seq, excluded.delivered_seq), read_seq = max(read_seq, excluded.read_seq)`);
  const apply = db.transaction((ops: ReceiptWrite[]) => {
    for (const op of ops) merge.run(op);
  });
  const list = db.prepare<[string], ReceiptRow>('SELECT user_id, delivered_seq, read_seq FROM receipts WHERE conversation_id = ? ORDER BY user_id');
  return {
    async write(ops) {
      if (ops.length > 0) apply(ops);
    },
    async list(id) {
      return list.all(id);
    },
    async reset() {
      db.exec('DELETE FROM receipts');
    },
  };
};
