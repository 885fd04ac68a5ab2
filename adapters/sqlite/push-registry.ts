import type { SqliteDatabase } from './database.ts';
import type { PushRegistry, PushTarget } from '../../ports/push.ts';

const schema = `
CREATE TABLE IF NOT EXISTS push_targets (
  user_id TEXT NOT NULL, device_id TEXT NOT NULL, platform TEXT NOT NULL,
  address TEXT NOT NULL, subscription TEXT, created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS push_targets_by_address ON push_targets (platform, address);`;

type Row = { user_id: string; device_id: string; platform: PushTarget['platform']; address: string; subscription: string | null; created_at: number };

/** The token for FCM and APNs, the endpoint for Web Push: what identifies one app install at its push service. */
const addressOf = (target: PushTarget) => (target.platform === 'webpush' ? target.subscription.endpoint : target.token);

const toTarget = (row: Row): PushTarget =>
  row.platform === 'webpush'
    ? { user_id: row.user_id, device_id: row.device_id, platform: 'webpush', subscription: JSON.parse(row.subscription!), created_at: row.created_at }
    : { user_id: row.user_id, device_id: row.device_id, platform: row.platform, token: row.address, created_at: row.created_at };

/**
 * Push registrations are not derived from events (a device hands them over REST), so this store is
 * a source of truth: it lives in its own file, committed with synchronous=FULL by the caller's choice.
 */
export const createSqlitePushRegistry = (db: SqliteDatabase): PushRegistry => {
  db.exec(schema);
  const releaseAddress = db.prepare('DELETE FROM push_targets WHERE platform = ? AND address = ? AND NOT (user_id = ? AND device_id = ?)');
  const upsert = db.prepare(`INSERT INTO push_targets (user_id, device_id, platform, address, subscription, created_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (user_id, device_id) DO UPDATE SET platform = excluded.platform, address = excluded.address,
      subscription = excluded.subscription, created_at = excluded.created_at`);
  const remove = db.prepare('DELETE FROM push_targets WHERE user_id = ? AND device_id = ?');
  const removeExact = db.prepare('DELETE FROM push_targets WHERE user_id = ? AND device_id = ? AND platform = ? AND address = ?');
  const one = db.prepare<[string, string], Row>('SELECT * FROM push_targets WHERE user_id = ? AND device_id = ?');
  const ofUser = db.prepare<[string], Row>('SELECT * FROM push_targets WHERE user_id = ? ORDER BY device_id');
  const register = db.transaction((target: PushTarget) => {
    const address = addressOf(target);
    // An app reinstalled under another account keeps its token: the old account must stop getting its pushes.
    releaseAddress.run(target.platform, address, target.user_id, target.device_id);
    upsert.run(
      target.user_id,
      target.device_id,
      target.platform,
      address,
      target.platform === 'webpush' ? JSON.stringify(target.subscription) : null,
      target.created_at,
    );
  });
  return {
    register: async (target) => {
      register(target);
    },
    unregister: async (userId, deviceId) => remove.run(userId, deviceId).changes > 0,
    get: async (userId, deviceId) => {
      const row = one.get(userId, deviceId);
      return row ? toTarget(row) : null;
    },
    targetsOf: async (userIds) => userIds.flatMap((userId) => ofUser.all(userId).map(toTarget)),
    invalidate: async (target) => {
      removeExact.run(target.user_id, target.device_id, target.platform, addressOf(target));
    },
  };
};
