import type { SqliteDatabase } from './database.ts';
import type { SearchHit, SearchIndex, SearchTerm, SearchWrite } from '../../ports/search.ts';

/*
 * Search over SQLite FTS5, in the read-model file (so an indexed batch commits with the other read
 * models and their checkpoints, in the same group commit).
 *
 * search_messages holds each indexed message as it is now (its text as the log holds it: sealed),
 * keyed by its log position, plus a tombstone once deleted (so a replayed send or edit never indexes
 * it again); an expiry leaves a watermark per conversation and an erasure a row per user, for the
 * same reason. search_words is a contentless FTS5 table (the words are not stored twice) whose rowid is that same position: FTS5
 * walks a match in descending rowid order and stops at the page's end, which gives "newest first"
 * and the cursor (rowid < before) for free. Its `ascii` tokenizer splits on the spaces between the
 * words projections/search/text.ts folded, and nowhere else (non-ASCII characters are word
 * characters to it), so it matches exactly what OpenSearch's `whitespace` analyzer matches.
 */
const schema = `
CREATE TABLE IF NOT EXISTS search_messages (
  position INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL,
  sender_id TEXT NOT NULL, timestamp INTEGER NOT NULL, content_type TEXT NOT NULL, text TEXT NOT NULL, changed INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
  UNIQUE (conversation_id, seq)
);
CREATE INDEX IF NOT EXISTS search_by_sender ON search_messages (sender_id);
CREATE VIRTUAL TABLE IF NOT EXISTS search_words USING fts5(words, content = '', contentless_delete = 1, tokenize = 'ascii');
CREATE TABLE IF NOT EXISTS search_expired (conversation_id TEXT PRIMARY KEY, up_to_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_erased (sender_id TEXT PRIMARY KEY) WITHOUT ROWID;`;

/** An FTS5 query that only ever holds quoted strings of our words (letters and digits): no FTS5 syntax gets in. */
export const fts5Query = (terms: readonly SearchTerm[]): string => terms.map((t) => `"${t.words.join(' ')}"${t.prefix ? ' *' : ''}`).join(' AND ');

/**
 * `scrubAfterCommit`: called when a batch erases a user, before it deletes anything, so that their
 * words leave the file's free pages and its WAL too (read-models.ts). An unindexed row of a contentless_delete
 * table is only a tombstone until its segment is merged: an erasure merges every segment ('optimize'),
 * which drops the erased words from the index pages themselves. It costs a rewrite of the index; erasures are rare.
 */
export const createSqliteSearchIndex = (db: SqliteDatabase, scrubAfterCommit: () => void = () => {}): SearchIndex => {
  db.exec(schema);
  const insert =
    db.prepare(`INSERT OR IGNORE INTO search_messages (position, conversation_id, seq, message_id, sender_id, timestamp, content_type, text, changed)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const current = db.prepare<[string, number], { position: number; changed: number; deleted: number }>(
    'SELECT position, changed, deleted FROM search_messages WHERE conversation_id = ? AND seq = ?',
  );
  const edit = db.prepare('UPDATE search_messages SET text = ?, changed = ? WHERE position = ?');
  const tombstone = db.prepare("UPDATE search_messages SET text = '', changed = ?, deleted = 1 WHERE position = ?");
  const index = db.prepare('INSERT INTO search_words (rowid, words) VALUES (?, ?)');
  const gone = db
    .prepare<[string, number, string], number>(`SELECT (SELECT count(*) FROM search_expired WHERE conversation_id = ? AND up_to_seq >= ?)
    + (SELECT count(*) FROM search_erased WHERE sender_id = ?)`)
    .pluck();
  const expired = db.prepare<[string, number], number>('SELECT position FROM search_messages WHERE conversation_id = ? AND seq <= ?').pluck();
  const expire = db.prepare('DELETE FROM search_messages WHERE conversation_id = ? AND seq <= ?');
  const watermark = db.prepare(`INSERT INTO search_expired VALUES (?, ?)
    ON CONFLICT DO UPDATE SET up_to_seq = max(up_to_seq, excluded.up_to_seq)`);
  const sentBy = db.prepare<[string], number>('SELECT position FROM search_messages WHERE sender_id = ? AND deleted = 0').pluck();
  const eraseRows = db.prepare("UPDATE search_messages SET text = '', deleted = 1, changed = max(changed, ?) WHERE sender_id = ?");
  const erased = db.prepare('INSERT OR IGNORE INTO search_erased VALUES (?)');
  const unindex = db.prepare('DELETE FROM search_words WHERE rowid = ?');
  const optimize = db.prepare("INSERT INTO search_words (search_words) VALUES ('optimize')");
  const find = db.prepare<[string, number, string, number], SearchHit>(`
    SELECT m.conversation_id, m.seq, m.message_id, m.sender_id, m.timestamp, m.position, m.content_type, m.text
    FROM search_words f CROSS JOIN search_messages m ON m.position = f.rowid
    WHERE search_words MATCH ? AND f.rowid < ? AND m.conversation_id IN (SELECT value FROM json_each(?))
    ORDER BY f.rowid DESC LIMIT ?`);

  const apply = db.transaction((ops: SearchWrite[]) => {
    for (const op of ops) {
      switch (op.op) {
        case 'message': {
          const m = op.message;
          if (gone.get(m.conversation_id, m.seq, m.sender_id)! > 0) break;
          if (
            insert.run(m.position, m.conversation_id, m.seq, m.message_id, m.sender_id, m.timestamp, m.content_type, m.text, m.position).changes === 1 &&
            m.words.length > 0
          ) {
            index.run(m.position, m.words.join(' '));
          }
          break;
        }
        case 'edit': {
          const row = current.get(op.conversation_id, op.seq);
          if (!row || row.deleted === 1 || row.changed >= op.position) break;
          edit.run(op.text, op.position, row.position);
          unindex.run(row.position);
          if (op.words.length > 0) index.run(row.position, op.words.join(' '));
          break;
        }
        case 'delete': {
          const row = current.get(op.conversation_id, op.seq);
          if (!row || row.deleted === 1) break;
          tombstone.run(op.position, row.position);
          unindex.run(row.position);
          break;
        }
        case 'expire':
          for (const position of expired.all(op.conversation_id, op.up_to_seq)) unindex.run(position);
          expire.run(op.conversation_id, op.up_to_seq);
          watermark.run(op.conversation_id, op.up_to_seq);
          break;
        case 'erase':
          for (const position of sentBy.all(op.sender_id)) unindex.run(position);
          eraseRows.run(op.position, op.sender_id);
          erased.run(op.sender_id);
          scrubAfterCommit();
          optimize.run();
          break;
      }
    }
  });

  return {
    async write(ops) {
      if (ops.length > 0) apply(ops);
    },
    async search({ terms, conversationIds, limit, before }) {
      if (terms.length === 0 || conversationIds.length === 0) return [];
      return find.all(fts5Query(terms), before ?? Number.MAX_SAFE_INTEGER, JSON.stringify(conversationIds), limit);
    },
    async reset() {
      db.exec(
        "DELETE FROM search_messages; DELETE FROM search_expired; DELETE FROM search_erased; INSERT INTO search_words (search_words) VALUES ('delete-all');",
      );
    },
  };
};
