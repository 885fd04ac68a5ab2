import type { SqliteDatabase } from './database.ts';
import type { HistoryPage, HistoryStore, HistoryWrite, ReactionSummary, StoredMessage } from '../../ports/read-models.ts';
import { REACTION_USER_IDS_SHOWN } from '../../contracts/reactions.ts';

const schema = `
CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, sender_id TEXT NOT NULL,
  client_msg_id TEXT NOT NULL, content TEXT NOT NULL, content_type TEXT NOT NULL, timestamp INTEGER NOT NULL,
  position INTEGER NOT NULL, reply_to_seq INTEGER, mentions TEXT NOT NULL DEFAULT '[]',
  edited_at INTEGER, edit_position INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
  updated_position INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reactions (
  conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, emoji TEXT NOT NULL, user_id TEXT NOT NULL,
  present INTEGER NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq, emoji, user_id)
) WITHOUT ROWID;`;
// Built after a rebuild's inserts (sorting once costs a fraction of keeping them up to date row by row).
const indexes = `
CREATE INDEX IF NOT EXISTS messages_by_position ON messages (conversation_id, position);
CREATE INDEX IF NOT EXISTS messages_by_update ON messages (conversation_id, updated_position);
CREATE INDEX IF NOT EXISTS messages_by_parent ON messages (conversation_id, reply_to_seq) WHERE reply_to_seq IS NOT NULL;`;

type Row = Omit<StoredMessage, 'mentions' | 'deleted' | 'reactions'> & { mentions: string; deleted: number };

export type SqliteHistoryStore = HistoryStore & {
  /** Builds the indexes that a rebuild leaves out until its end. Reads build them too: calling this is optional. */
  finishRebuild(): void;
};

/**
 * Message history: one row per (conversation, seq) holding the message as it is now, and one row
 * per (seq, emoji, user) reaction. Every write is idempotent, so a replayed batch changes nothing.
 */
export const createSqliteHistoryStore = (db: SqliteDatabase): SqliteHistoryStore => {
  db.exec(schema);
  db.exec(indexes);
  let rebuilding = false;
  const indexed = () => {
    if (!rebuilding) return;
    db.exec(indexes);
    rebuilding = false;
  };
  const insert = db.prepare(`INSERT OR IGNORE INTO messages (conversation_id, seq, message_id, sender_id, client_msg_id, content, content_type,
    timestamp, position, reply_to_seq, mentions, updated_position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const edit = db.prepare(`UPDATE messages SET content = ?, edited_at = ?, edit_position = ?, updated_position = max(updated_position, ?)
    WHERE conversation_id = ? AND seq = ? AND deleted = 0 AND edit_position < ?`);
  // The text and mentions are overwritten, not flagged: a deleted message's words leave the read model.
  const remove = db.prepare(`UPDATE messages SET content = '', mentions = '[]', deleted = 1, updated_position = max(updated_position, ?)
    WHERE conversation_id = ? AND seq = ?`);
  const react = db.prepare(`INSERT INTO reactions (conversation_id, seq, emoji, user_id, present, position) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT DO UPDATE SET present = excluded.present, position = excluded.position WHERE excluded.position > reactions.position`);
  const touch = db.prepare('UPDATE messages SET updated_position = max(updated_position, ?) WHERE conversation_id = ? AND seq = ?');
  const expireMessages = db.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq <= ?');
  const expireReactions = db.prepare('DELETE FROM reactions WHERE conversation_id = ? AND seq <= ?');
  const writeAll = db.transaction((ops: HistoryWrite[]) => {
    for (const op of ops) {
      switch (op.op) {
        case 'message': {
          const m = op.message;
          insert.run(
            m.conversation_id,
            m.seq,
            m.message_id,
            m.sender_id,
            m.client_msg_id,
            m.content,
            m.content_type,
            m.timestamp,
            m.position,
            m.reply_to_seq,
            JSON.stringify(m.mentions),
            m.position,
          );
          break;
        }
        case 'edit':
          edit.run(op.content, op.edited_at, op.position, op.position, op.conversation_id, op.seq, op.position);
          break;
        case 'delete':
          remove.run(op.position, op.conversation_id, op.seq);
          break;
        case 'reaction':
          react.run(op.conversation_id, op.seq, op.emoji, op.user_id, op.present ? 1 : 0, op.position);
          touch.run(op.position, op.conversation_id, op.seq);
          break;
        case 'expire':
          expireMessages.run(op.conversation_id, op.up_to_seq);
          expireReactions.run(op.conversation_id, op.up_to_seq);
          break;
      }
    }
  });

  const columns = `m.*, (SELECT count(*) FROM messages r WHERE r.conversation_id = m.conversation_id AND r.reply_to_seq = m.seq) AS reply_count`;
  const newest = db.prepare<[string, number], Row>(`SELECT ${columns} FROM messages m WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?`);
  const before = db.prepare<[string, number, number], Row>(`SELECT ${columns} FROM messages m WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`);
  const after = db.prepare<[string, number, number], Row>(`SELECT ${columns} FROM messages m WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`);
  const between = db.prepare<[string, number, number, number], Row>(
    `SELECT ${columns} FROM messages m WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`,
  );
  const byPosition = db.prepare<[string, number, number, number], Row>(
    `SELECT ${columns} FROM messages m WHERE conversation_id = ? AND position > ? AND position <= ? ORDER BY position ASC LIMIT ?`,
  );
  const byUpdate = db.prepare<[string, number, number, number, number], Row>(
    `SELECT ${columns} FROM messages m WHERE conversation_id = ? AND updated_position > ? AND updated_position <= ? AND position <= ? ORDER BY updated_position ASC LIMIT ?`,
  );
  const byParent = db.prepare<[string, number, number, number], Row>(
    `SELECT ${columns} FROM messages m WHERE conversation_id = ? AND reply_to_seq = ? AND seq > ? ORDER BY seq ASC LIMIT ?`,
  );
  const reactionsOf = db.prepare<[string, number, number], { seq: number; emoji: string; user_id: string }>(
    'SELECT seq, emoji, user_id FROM reactions WHERE conversation_id = ? AND seq >= ? AND seq <= ? AND present = 1 ORDER BY seq, position',
  );

  /** Rows as history shows them: reactions summed per emoji, in the order each emoji first appeared; none on a deleted message. */
  const shown = (conversationId: string, rows: Row[]): StoredMessage[] => {
    if (rows.length === 0) return [];
    const seqs = rows.map((r) => r.seq);
    const sums = new Map<number, Map<string, ReactionSummary>>();
    for (const r of reactionsOf.all(conversationId, Math.min(...seqs), Math.max(...seqs))) {
      let emojis = sums.get(r.seq);
      if (!emojis) sums.set(r.seq, (emojis = new Map()));
      let sum = emojis.get(r.emoji);
      if (!sum) emojis.set(r.emoji, (sum = { emoji: r.emoji, count: 0, user_ids: [] }));
      sum.count++;
      if (sum.user_ids.length < REACTION_USER_IDS_SHOWN) sum.user_ids.push(r.user_id);
    }
    return rows.map(({ edit_position: _, ...row }: Row & { edit_position?: number }) => ({
      ...row,
      mentions: JSON.parse(row.mentions) as string[],
      deleted: row.deleted === 1,
      reactions: row.deleted === 1 ? [] : [...(sums.get(row.seq)?.values() ?? [])],
    }));
  };

  return {
    async write(ops) {
      if (ops.length > 0) writeAll(ops);
    },
    async page(conversationId, { before: b, after: a, limit }: HistoryPage) {
      indexed();
      if (a !== undefined && b !== undefined) return shown(conversationId, between.all(conversationId, a, b, limit));
      if (a !== undefined) return shown(conversationId, after.all(conversationId, a, limit));
      const rows = b !== undefined ? before.all(conversationId, b, limit) : newest.all(conversationId, limit);
      return shown(conversationId, rows.reverse());
    },
    async afterPosition(conversationId, from, upTo, limit) {
      indexed();
      return shown(conversationId, byPosition.all(conversationId, from, upTo, limit));
    },
    async changedAfter(conversationId, from, upTo, limit) {
      indexed();
      return shown(conversationId, byUpdate.all(conversationId, from, upTo, from, limit));
    },
    async replies(conversationId, parentSeq, { after: a, limit }) {
      indexed();
      return shown(conversationId, byParent.all(conversationId, parentSeq, a, limit));
    },
    async reset() {
      db.exec(
        'DROP INDEX IF EXISTS messages_by_position; DROP INDEX IF EXISTS messages_by_update; DROP INDEX IF EXISTS messages_by_parent; DELETE FROM messages; DELETE FROM reactions',
      );
      rebuilding = true;
    },
    finishRebuild: indexed,
  };
};
