import type { SqliteDatabase } from './database.ts';
import type { MediaRecord, MediaStore } from '../../ports/media-store.ts';

const schema = `
CREATE TABLE IF NOT EXISTS media (
  media_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL,
  blob_key TEXT NOT NULL, created_at INTEGER NOT NULL, thumbnail TEXT, width INTEGER, height INTEGER
);
CREATE TABLE IF NOT EXISTS media_shares (
  media_id TEXT NOT NULL, conversation_id TEXT NOT NULL, PRIMARY KEY (media_id, conversation_id)
) WITHOUT ROWID;`;

/**
 * Upload records (a source of truth: the caller opens the file with synchronous=FULL) and the
 * shares read model (rebuilt from media messages by the media-shares projector).
 */
export const createSqliteMediaStore = (db: SqliteDatabase): MediaStore => {
  db.exec(schema);
  const insert = db.prepare(`INSERT INTO media (media_id, owner_id, content_type, size, blob_key, created_at, thumbnail, width, height)
    VALUES (@media_id, @owner_id, @content_type, @size, @blob_key, @created_at, @thumbnail, @width, @height)`);
  const one = db.prepare<[string], MediaRecord>('SELECT * FROM media WHERE media_id = ?');
  const share = db.prepare('INSERT INTO media_shares (media_id, conversation_id) VALUES (?, ?) ON CONFLICT DO NOTHING');
  const shares = db.prepare<[string], { conversation_id: string }>('SELECT conversation_id FROM media_shares WHERE media_id = ?');
  const shareAll = db.transaction((rows: ReadonlyArray<{ media_id: string; conversation_id: string }>) => {
    for (const row of rows) share.run(row.media_id, row.conversation_id);
  });
  return {
    add: async (record) => {
      insert.run(record);
    },
    get: async (mediaId) => one.get(mediaId) ?? null,
    share: async (rows) => {
      if (rows.length > 0) shareAll(rows);
    },
    sharedIn: async (mediaId) => shares.all(mediaId).map((r) => r.conversation_id),
    resetShares: async () => {
      db.exec('DELETE FROM media_shares');
    },
  };
};
