import type { SqliteDatabase } from './database.ts';
import type { HistoryPage, HistoryStore, StoredMessage } from '../../ports/read-models.ts';

const schema = `
CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, sender_id TEXT NOT NULL,
  client_msg_id TEXT NOT NULL, content TEXT NOT NULL, content_type TEXT NOT NULL, timestamp INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;`;
const positionIndex = 'CREATE INDEX IF NOT EXISTS messages_by_position ON messages (conversation_id, position)';

export type SqliteHistoryStore = HistoryStore & {
  /** Builds the index that a rebuild leaves out until its end. Reads build it too: calling this is optional. */
  finishRebuild(): void;
};

/** Message history, one row per (conversation, seq): a replayed MessageSent rewrites nothing. */
export const createSqliteHistoryStore = (db: SqliteDatabase): SqliteHistoryStore => {
  db.exec(schema);
  db.exec(positionIndex);
  // After reset(), a rebuild from the log inserts every message: building the position index once
  // at the end, by sorting, costs a fraction of keeping it up to date row by row.
  let rebuilding = false;
  const indexed = () => {
    if (!rebuilding) return;
    db.exec(positionIndex);
    rebuilding = false;
  };
  const insert = db.prepare('INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const writeAll = db.transaction((messages: StoredMessage[]) => {
    for (const m of messages) {
      insert.run(m.conversation_id, m.seq, m.message_id, m.sender_id, m.client_msg_id, m.content, m.content_type, m.timestamp, m.position);
    }
  });
  const newest = db.prepare<[string, number], StoredMessage>('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?');
  const before = db.prepare<[string, number, number], StoredMessage>('SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?');
  const after = db.prepare<[string, number, number], StoredMessage>('SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?');
  const between = db.prepare<[string, number, number, number], StoredMessage>('SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?');
  const byPosition = db.prepare<[string, number, number, number], StoredMessage>(
    'SELECT * FROM messages WHERE conversation_id = ? AND position > ? AND position <= ? ORDER BY position ASC LIMIT ?');

  return {
    async write(messages) { if (messages.length > 0) writeAll(messages); },
    async page(conversationId, { before: b, after: a, limit }: HistoryPage) {
      indexed();
      if (a !== undefined && b !== undefined) return between.all(conversationId, a, b, limit);
      if (a !== undefined) return after.all(conversationId, a, limit);
      const rows = b !== undefined ? before.all(conversationId, b, limit) : newest.all(conversationId, limit);
      return rows.reverse();
    },
    async afterPosition(conversationId, from, upTo, limit) {
      indexed();
      return byPosition.all(conversationId, from, upTo, limit);
    },
    async reset() {
      db.exec('DROP INDEX IF EXISTS messages_by_position; DELETE FROM messages');
      rebuilding = true;
    },
    finishRebuild: indexed,
  };
};
