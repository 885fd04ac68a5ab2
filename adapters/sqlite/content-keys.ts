import type { SqliteDatabase } from './database.ts';
import type { ContentKeyStore, WrappedKey } from '../../ports/content-keys.ts';

const schema = `
CREATE TABLE IF NOT EXISTS content_keys (
  key_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, wrapped BLOB, destroyed_at INTEGER
);
CREATE INDEX IF NOT EXISTS content_keys_by_owner ON content_keys (owner_id);`;

type Row = { key_id: string; owner_id: string; wrapped: Buffer | null };

/**
 * The embedded key store: its own file, synchronous=FULL (a lost key is lost content), with
 * secure_delete on, so that a destroyed key's bytes are overwritten in the file, not left in a free page.
 */
export const createSqliteContentKeyStore = (db: SqliteDatabase): ContentKeyStore => {
  db.pragma('secure_delete = ON');
  db.exec(schema);
  const insert = db.prepare('INSERT OR IGNORE INTO content_keys (key_id, owner_id, wrapped) VALUES (?, ?, ?)');
  const one = db.prepare<[string], Row>('SELECT key_id, owner_id, wrapped FROM content_keys WHERE key_id = ?');
  const destroy = db.prepare('UPDATE content_keys SET wrapped = NULL, destroyed_at = ? WHERE owner_id = ? AND wrapped IS NOT NULL');
  return {
    getOrCreate: async (key) => {
      insert.run(key.key_id, key.owner_id, key.wrapped);
      const row = one.get(key.key_id)!;
      if (!row.wrapped) throw new Error(`key ${key.key_id} was destroyed`);
      return row as WrappedKey;
    },
    get: async (keyId) => {
      const row = one.get(keyId);
      if (!row) return null;
      return row.wrapped ? (row as WrappedKey) : 'destroyed';
    },
    destroyOwner: async (ownerId) => {
      const changes = destroy.run(Date.now(), ownerId).changes;
      // The WAL holds the old pages until a checkpoint: write them back into the file now.
      db.pragma('wal_checkpoint(TRUNCATE)');
      return changes;
    },
    close: async () => {
      if (db.open) db.close();
    },
  };
};
