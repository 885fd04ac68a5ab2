import type { SqliteDatabase } from './database.ts';
import type { ConversationInfo, DirectoryStore, DirectoryWrite } from '../../ports/read-models.ts';

const schema = `
CREATE TABLE IF NOT EXISTS conversations (
  conversation_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
  title_position INTEGER NOT NULL DEFAULT 0, retention_days INTEGER, retention_position INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS members (
  conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, active INTEGER NOT NULL, admin INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS active_members_by_user ON members (user_id, conversation_id) WHERE active = 1;`;

/** Conversations and their members: what authorization and fan-out look up. */
export const createSqliteDirectoryStore = (db: SqliteDatabase): DirectoryStore => {
  db.exec(schema);
  const upsertConversation = db.prepare(`INSERT OR IGNORE INTO conversations (conversation_id, kind, title, created_by, created_at)
    VALUES (@conversation_id, @kind, @title, @created_by, @created_at)`);
  // Leaving takes the admin role with it.
  const setMember = db.prepare(`INSERT INTO members (conversation_id, user_id, active) VALUES (?, ?, ?)
    ON CONFLICT DO UPDATE SET active = excluded.active, admin = admin * excluded.active`);
  const setAdmin = db.prepare('UPDATE members SET admin = ? WHERE conversation_id = ? AND user_id = ?');
  const setTitle = db.prepare('UPDATE conversations SET title = ?, title_position = ? WHERE conversation_id = ? AND title_position < ?');
  const setRetention = db.prepare('UPDATE conversations SET retention_days = ?, retention_position = ? WHERE conversation_id = ? AND retention_position < ?');
  const page = db.prepare<[string, number], { conversation_id: string; retention_days: number | null }>(
    'SELECT conversation_id, retention_days FROM conversations WHERE conversation_id > ? ORDER BY conversation_id LIMIT ?',
  );
  const getConversation = db.prepare<[string], Omit<ConversationInfo, 'members' | 'admins'>>(
    'SELECT conversation_id, kind, title, created_by, retention_days FROM conversations WHERE conversation_id = ?',
  );
  const activeMembers = db.prepare<[string], { user_id: string; admin: number }>(
    'SELECT user_id, admin FROM members WHERE conversation_id = ? AND active = 1 ORDER BY user_id',
  );
  const ofUser = db.prepare<[string], { conversation_id: string }>('SELECT conversation_id FROM members WHERE user_id = ? AND active = 1');
  const apply = db.transaction((ops: DirectoryWrite[]) => {
    for (const op of ops) {
      if (op.op === 'conversation') {
        const { op: _, ...row } = op;
        upsertConversation.run(row);
      } else if (op.op === 'members') {
        for (const user of op.user_ids) setMember.run(op.conversation_id, user, op.active ? 1 : 0);
      } else if (op.op === 'admins') {
        for (const user of op.user_ids) setAdmin.run(op.admin ? 1 : 0, op.conversation_id, user);
      } else if (op.op === 'title') {
        setTitle.run(op.title, op.position, op.conversation_id, op.position);
      } else {
        setRetention.run(op.retention_days, op.position, op.conversation_id, op.position);
      }
    }
  });
  const members = (id: string) => activeMembers.all(id).map((r) => r.user_id);

  return {
    async write(ops) {
      if (ops.length > 0) apply(ops);
    },
    async get(id) {
      const row = getConversation.get(id);
      if (!row) return null;
      const rows = activeMembers.all(id);
      return { ...row, members: rows.map((r) => r.user_id), admins: rows.filter((r) => r.admin === 1).map((r) => r.user_id) };
    },
    async members(id) {
      return members(id);
    },
    async conversationsOf(userId) {
      return ofUser.all(userId).map((r) => r.conversation_id);
    },
    async conversations(after, limit) {
      return page.all(after, limit);
    },
    async reset() {
      db.exec('DELETE FROM conversations; DELETE FROM members;');
    },
  };
};
