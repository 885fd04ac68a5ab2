import type { SqliteDatabase } from './database.ts';
import type { UserStore, UserWrite } from '../../ports/read-models.ts';

const schema = `
CREATE TABLE IF NOT EXISTS user_blocks (
  user_id TEXT NOT NULL, blocked_user_id TEXT NOT NULL, blocked INTEGER NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (user_id, blocked_user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_privacy (user_id TEXT PRIMARY KEY, last_seen TEXT NOT NULL, position INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users_erased (user_id TEXT PRIMARY KEY) WITHOUT ROWID;`;

type Visibility = 'everyone' | 'contacts' | 'nobody';

/** Blocks and privacy per user; a change applies only over an older one (by position), so replays change nothing. */
export const createSqliteUserStore = (db: SqliteDatabase): UserStore => {
  db.exec(schema);
  const block = db.prepare(`INSERT INTO user_blocks VALUES (?, ?, ?, ?)
    ON CONFLICT DO UPDATE SET blocked = excluded.blocked, position = excluded.position WHERE excluded.position > user_blocks.position`);
  const privacy = db.prepare(`INSERT INTO user_privacy VALUES (?, ?, ?)
    ON CONFLICT DO UPDATE SET last_seen = excluded.last_seen, position = excluded.position WHERE excluded.position > user_privacy.position`);
  const blocks = db.prepare<[string], string>('SELECT blocked_user_id FROM user_blocks WHERE user_id = ? AND blocked = 1 ORDER BY blocked_user_id').pluck();
  const either = db
    .prepare<[string, string, string, string], number>(`SELECT count(*) FROM user_blocks WHERE blocked = 1
    AND ((user_id = ? AND blocked_user_id = ?) OR (user_id = ? AND blocked_user_id = ?))`)
    .pluck();
  const visibility = db.prepare<[string], Visibility>('SELECT last_seen FROM user_privacy WHERE user_id = ?').pluck();
  const erase = db.prepare('INSERT OR IGNORE INTO users_erased VALUES (?)');
  const erased = db.prepare<[string], number>('SELECT count(*) FROM users_erased WHERE user_id = ?').pluck();
  const apply = db.transaction((ops: UserWrite[]) => {
    for (const op of ops) {
      if (op.op === 'block') block.run(op.user_id, op.blocked_user_id, op.blocked ? 1 : 0, op.position);
      else if (op.op === 'privacy') privacy.run(op.user_id, op.last_seen, op.position);
      else erase.run(op.user_id);
    }
  });
  return {
    async write(ops) {
      if (ops.length > 0) apply(ops);
    },
    async blocks(userId) {
      return blocks.all(userId);
    },
    async eitherBlocks(a, b) {
      return either.get(a, b, b, a)! > 0;
    },
    async lastSeenVisibility(userId) {
      return visibility.get(userId) ?? 'everyone';
    },
    async isErased(userId) {
      return erased.get(userId)! > 0;
    },
    async reset() {
      db.exec('DELETE FROM user_blocks; DELETE FROM user_privacy; DELETE FROM users_erased;');
    },
  };
};
