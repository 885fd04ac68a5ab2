import type { SqliteDatabase } from './database.ts';
import type { InboxEntry, InboxStore, InboxWrite, LastMessage } from '../../ports/read-models.ts';
import { muteState } from '../../projections/inbox/mute.ts';
import type { ConversationKind } from '../../contracts/events.ts';

const schema = `
CREATE TABLE IF NOT EXISTS inbox_conversations (
  conversation_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT, last_seq INTEGER NOT NULL DEFAULT 0,
  last_message TEXT, last_position INTEGER NOT NULL DEFAULT 0, last_activity INTEGER NOT NULL,
  changed_position INTEGER NOT NULL DEFAULT 0, title_position INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS inbox_mentions (
  user_id TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (user_id, conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_mentions_by_message ON inbox_mentions (conversation_id, seq);
CREATE TABLE IF NOT EXISTS inbox_members (
  user_id TEXT NOT NULL, conversation_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL,
  active INTEGER NOT NULL, membership_position INTEGER NOT NULL,
  muted INTEGER NOT NULL DEFAULT 0, muted_until INTEGER, mute_position INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_members_by_conversation ON inbox_members (conversation_id, active);`;

type Row = {
  conversation_id: string;
  kind: ConversationKind;
  title: string | null;
  read_seq: number;
  activity: number;
  last_seq: number;
  last_message: string | null;
  last_position: number;
  members_count: number;
  unread_mentions: number;
  muted: number;
  muted_until: number | null;
};

// The cursor is the (activity, conversation_id) of the last item served, so pages stay stable
// while new messages move other conversations to the top.
const encodeCursor = (row: Row) => Buffer.from(`${row.activity}|${row.conversation_id}`).toString('base64url');
const decodeCursor = (cursor: string): [number, string] | null => {
  const [activity, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const n = Number(activity);
  return Number.isSafeInteger(n) && id ? [n, id] : null;
};

/** The stored last message, without the bookkeeping of which change it shows. */
const lastMessage = (json: string): LastMessage => {
  const { changed_at: _, ...message } = JSON.parse(json) as LastMessage & { changed_at?: number };
  return message;
};

/**
 * The inbox keeps one row per conversation (its last message) and one per member (its read
 * watermark): a message costs one write whatever the group size, and unread = last_seq - read_seq.
 */
export const createSqliteInboxStore = (db: SqliteDatabase): InboxStore => {
  db.exec(schema);
  const conversation = db.prepare(`INSERT INTO inbox_conversations (conversation_id, kind, title, last_activity)
    VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  // A member starts with what was sent before they joined counted as read. Leaving keeps the row as
  // a tombstone, and a join or leave older than the row's membership_position is a replay: ignored.
  const join = db.prepare(`INSERT INTO inbox_members (user_id, conversation_id, read_seq, joined_at, active, membership_position)
    SELECT @user, conversation_id, last_seq, @timestamp, 1, @position FROM inbox_conversations WHERE conversation_id = @conversation
    ON CONFLICT DO UPDATE SET active = 1, read_seq = excluded.read_seq, joined_at = excluded.joined_at, membership_position = excluded.membership_position
    WHERE excluded.membership_position > inbox_members.membership_position`);
  const leave = db.prepare(`UPDATE inbox_members SET active = 0, membership_position = @position
    WHERE user_id = @user AND conversation_id = @conversation AND membership_position < @position`);
  const message = db.prepare(`UPDATE inbox_conversations SET last_seq = ?, last_message = ?, last_position = ?, last_activity = ?,
    changed_position = max(changed_position, ?) WHERE conversation_id = ? AND last_seq < ?`);
  const read = db.prepare('UPDATE inbox_members SET read_seq = max(read_seq, ?) WHERE user_id = ? AND conversation_id = ?');
  const mention = db.prepare('INSERT OR IGNORE INTO inbox_mentions (user_id, conversation_id, seq) VALUES (?, ?, ?)');
  const unmention = db.prepare('DELETE FROM inbox_mentions WHERE conversation_id = ? AND seq = ?');
  // The preview follows an edit or delete of the last message; a replay of an older change finds a newer one already there.
  const change =
    db.prepare(`UPDATE inbox_conversations SET last_message = json_set(last_message, '$.preview', @preview, '$.edited', json(@edited), '$.deleted', json(@deleted)),
    changed_position = max(changed_position, @position)
    WHERE conversation_id = @conversation AND last_seq = @seq AND json_extract(last_message, '$.deleted') IS NOT 1
      AND coalesce(json_extract(last_message, '$.changed_at'), 0) < @position`);
  const stamp = db.prepare(`UPDATE inbox_conversations SET last_message = json_set(last_message, '$.changed_at', @position)
    WHERE conversation_id = @conversation AND last_seq = @seq`);
  const touch = db.prepare('UPDATE inbox_conversations SET changed_position = max(changed_position, ?) WHERE conversation_id = ?');
  const expireLast = db.prepare(`UPDATE inbox_conversations SET last_message = NULL, changed_position = max(changed_position, @position)
    WHERE conversation_id = @conversation AND last_seq <= @seq`);
  const expireMentions = db.prepare('DELETE FROM inbox_mentions WHERE conversation_id = ? AND seq <= ?');
  const retitle = db.prepare('UPDATE inbox_conversations SET title = ?, title_position = ? WHERE conversation_id = ? AND title_position < ?');
  // A mute applies only over an older one; the member row may not exist yet (a mute replayed before
  // the join): the mute waits in its own row shape until the join writes the rest.
  const mute =
    db.prepare(`INSERT INTO inbox_members (user_id, conversation_id, read_seq, joined_at, active, membership_position, muted, muted_until, mute_position)
    VALUES (@user, @conversation, 0, 0, 0, 0, @muted, @until, @position)
    ON CONFLICT DO UPDATE SET muted = excluded.muted, muted_until = excluded.muted_until, mute_position = excluded.mute_position
    WHERE excluded.mute_position > inbox_members.mute_position`);
  const mutedAmong = (conversationId: string, users: readonly string[], now: number) =>
    db
      .prepare<unknown[], string>(
        `SELECT user_id FROM inbox_members WHERE conversation_id = ? AND muted = 1 AND (muted_until IS NULL OR muted_until > ?)
     AND user_id IN (${users.map(() => '?').join(',')})`,
      )
      .pluck()
      .all(conversationId, now, ...users);
  const apply = db.transaction((ops: InboxWrite[]) => {
    for (const op of ops) {
      switch (op.op) {
        case 'conversation':
          conversation.run(op.conversation_id, op.kind, op.title, op.timestamp);
          break;
        case 'join':
          join.run({ user: op.user_id, timestamp: op.timestamp, conversation: op.conversation_id, position: op.position });
          break;
        case 'leave':
          leave.run({ user: op.user_id, conversation: op.conversation_id, position: op.position });
          break;
        case 'message': {
          const m = op.last_message;
          message.run(m.seq, JSON.stringify(m), op.position, m.timestamp, op.position, op.conversation_id, m.seq);
          break;
        }
        case 'read':
          read.run(op.read_seq, op.user_id, op.conversation_id);
          break;
        case 'mentions':
          for (const user of op.user_ids) mention.run(user, op.conversation_id, op.seq);
          break;
        case 'change': {
          const at = { conversation: op.conversation_id, seq: op.seq, position: op.position };
          if (change.run({ ...at, preview: op.preview, edited: String(!op.deleted), deleted: String(op.deleted) }).changes > 0) stamp.run(at);
          touch.run(op.position, op.conversation_id);
          if (op.deleted) unmention.run(op.conversation_id, op.seq);
          break;
        }
        case 'touch':
          touch.run(op.position, op.conversation_id);
          break;
        case 'title':
          retitle.run(op.title, op.position, op.conversation_id, op.position);
          break;
        case 'expire':
          expireLast.run({ conversation: op.conversation_id, seq: op.up_to_seq, position: op.position });
          expireMentions.run(op.conversation_id, op.up_to_seq);
          break;
        case 'mute':
          mute.run({ user: op.user_id, conversation: op.conversation_id, muted: op.muted ? 1 : 0, until: op.until, position: op.position });
          break;
      }
    }
  });
  const select = `SELECT m.conversation_id, c.kind, c.title, m.read_seq, c.last_activity AS activity, m.muted, m.muted_until,
      c.last_seq, c.last_message, c.last_position,
      (SELECT COUNT(*) FROM inbox_members x WHERE x.conversation_id = m.conversation_id AND x.active = 1) AS members_count,
      (SELECT COUNT(*) FROM inbox_mentions n WHERE n.user_id = m.user_id AND n.conversation_id = m.conversation_id AND n.seq > m.read_seq) AS unread_mentions
    FROM inbox_members m JOIN inbox_conversations c ON c.conversation_id = m.conversation_id
    WHERE m.user_id = ? AND m.active = 1`;
  const firstPage = db.prepare<[string, number], Row>(`${select} ORDER BY activity DESC, m.conversation_id DESC LIMIT ?`);
  const nextPage = db.prepare<[string, number, number, string, number], Row>(`${select}
    AND (c.last_activity < ? OR (c.last_activity = ? AND m.conversation_id < ?))
    ORDER BY activity DESC, m.conversation_id DESC LIMIT ?`);
  const changed = db.prepare<[string, number], { conversation_id: string }>(`SELECT m.conversation_id FROM inbox_members m
    JOIN inbox_conversations c ON c.conversation_id = m.conversation_id WHERE m.user_id = ? AND m.active = 1 AND c.changed_position > ?`);

  const toEntry = (row: Row): InboxEntry => ({
    conversation_id: row.conversation_id,
    kind: row.kind,
    title: row.title,
    members_count: row.members_count,
    last_message: row.last_message ? lastMessage(row.last_message) : null,
    unread_count: Math.max(0, row.last_seq - row.read_seq),
    unread_mentions: row.unread_mentions,
    ...muteState(row.muted === 1, row.muted_until, Date.now()),
    last_activity: row.activity,
    last_position: row.last_position,
  });

  return {
    async write(ops) {
      if (ops.length > 0) apply(ops);
    },
    async list(userId, { limit, cursor }) {
      const from = cursor ? decodeCursor(cursor) : null;
      const rows = from ? nextPage.all(userId, from[0], from[0], from[1], limit + 1) : firstPage.all(userId, limit + 1);
      const page = rows.slice(0, limit);
      return { items: page.map(toEntry), next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null };
    },
    async changedSince(userId, position) {
      return changed.all(userId, position).map((r) => r.conversation_id);
    },
    async mutedAmong(conversationId, userIds, now) {
      return new Set(userIds.length === 0 ? [] : mutedAmong(conversationId, userIds, now));
    },
    async reset() {
      db.exec('DELETE FROM inbox_conversations; DELETE FROM inbox_members; DELETE FROM inbox_mentions;');
    },
  };
};
