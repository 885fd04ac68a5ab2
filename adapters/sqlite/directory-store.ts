import type { SqliteDatabase } from './database.ts';
import type { ConversationInfo, DirectoryStore, DirectoryWrite } from '../../ports/read-models.ts';

const schema = `
CREATE TABLE IF NOT EXISTS conversations (
  conversation_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, created_by TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, active INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS active_members_by_user ON members (user_id, conversation_id) WHERE active = 1;`;

/** Conversations and their members: what authorization and fan-out look up. */
export const createSqliteDirectoryStore = (db: SqliteDatabase): DirectoryStore => {
  db.exec(schema);
  const upsertConversation = db.prepare(`INSERT OR IGNORE INTO conversations VALUES (@conversation_id, @kind, @title, @created_by, @created_at)`);
  const setMember = db.prepare(`INSERT INTO members VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET active = excluded.active`);
  const getConversation = db.prepare<[string], Omit<ConversationInfo, 'members'>>('SELECT conversation_id, kind, title, created_by FROM conversations WHERE conversation_id = ?');
  const activeMembers = db.prepare<[string], { user_id: string }>('SELECT user_id FROM members WHERE conversation_id = ? AND active = 1 ORDER BY user_id');
  const ofUser = db.prepare<[string], { conversation_id: string }>('SELECT conversation_id FROM members WHERE user_id = ? AND active = 1');
  const apply = db.transaction((ops: DirectoryWrite[]) => {
    for (const op of ops) {
      if (op.op === 'conversation') {
        const { op: _, ...row } = op;
        upsertConversation.run(row);
      } else {
        for (const user of op.user_ids) setMember.run(op.conversation_id, user, op.active ? 1 : 0);
      }
    }
  });
  const members = (id: string) => activeMembers.all(id).map((r) => r.user_id);

  return {
    async write(ops) { if (ops.length > 0) apply(ops); },
    async get(id) {
      const row = getConversation.get(id);
      return row ? { ...row, members: members(id) } : null;
    },
    async members(id) { return members(id); },
    async conversationsOf(userId) { return ofUser.all(userId).map((r) => r.conversation_id); },
    async reset() { db.exec('DELETE FROM conversations; DELETE FROM members;'); },
  };
};
