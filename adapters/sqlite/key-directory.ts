import type { SqliteDatabase } from './database.ts';
import type { ClaimedBundle, KeyDirectory, PublishKeys, PublishResult } from '../../ports/key-directory.ts';
import { MAX_STORED_PREKEYS } from '../../contracts/keys.ts';

const schema = `
CREATE TABLE IF NOT EXISTS key_devices (
  user_id TEXT NOT NULL, device_id TEXT NOT NULL, identity_key TEXT NOT NULL,
  signed_key_id INTEGER NOT NULL, signed_public_key TEXT NOT NULL, signed_signature TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_one_time (
  user_id TEXT NOT NULL, device_id TEXT NOT NULL, key_id INTEGER NOT NULL, public_key TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, key_id)
) WITHOUT ROWID;`;

type DeviceRow = { device_id: string; identity_key: string; signed_key_id: number; signed_public_key: string; signed_signature: string };

/**
 * The embedded key directory. A claim runs in one IMMEDIATE transaction that deletes the pre-key it
 * returns (DELETE … RETURNING), so no two claims, concurrent or not, ever get the same key.
 */
export const createSqliteKeyDirectory = (db: SqliteDatabase): KeyDirectory => {
  db.exec(schema);
  const device = db.prepare<[string, string], DeviceRow>('SELECT * FROM key_devices WHERE user_id = ? AND device_id = ?');
  const devices = db.prepare<[string], DeviceRow>('SELECT * FROM key_devices WHERE user_id = ? ORDER BY device_id');
  const insertDevice = db.prepare(`INSERT INTO key_devices (user_id, device_id, identity_key, signed_key_id, signed_public_key, signed_signature, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO UPDATE SET identity_key = excluded.identity_key,
    signed_key_id = excluded.signed_key_id, signed_public_key = excluded.signed_public_key, signed_signature = excluded.signed_signature,
    updated_at = excluded.updated_at`);
  const dropPrekeys = db.prepare('DELETE FROM key_one_time WHERE user_id = ? AND device_id = ?');
  const insertPrekey = db.prepare('INSERT INTO key_one_time (user_id, device_id, key_id, public_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const count = db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM key_one_time WHERE user_id = ? AND device_id = ?');
  const take = db.prepare<[string, string, string, string], { key_id: number; public_key: string }>(`DELETE FROM key_one_time
    WHERE user_id = ? AND device_id = ? AND key_id = (SELECT min(key_id) FROM key_one_time WHERE user_id = ? AND device_id = ?)
    RETURNING key_id, public_key`);

  const publish = db.transaction((keys: PublishKeys): PublishResult => {
    const existing = device.get(keys.user_id, keys.device_id);
    const resetIdentity = !existing || existing.identity_key !== keys.identity_key;
    const signed =
      keys.signed_prekey ??
      (resetIdentity ? undefined : { key_id: existing.signed_key_id, public_key: existing.signed_public_key, signature: existing.signed_signature });
    if (!signed) return { ok: false, reason: 'signed_prekey_required' };
    if (resetIdentity) dropPrekeys.run(keys.user_id, keys.device_id);
    const stored = count.get(keys.user_id, keys.device_id)!.n;
    if (stored + (keys.one_time_prekeys?.length ?? 0) > MAX_STORED_PREKEYS) return { ok: false, reason: 'too_many_prekeys', stored };
    insertDevice.run(keys.user_id, keys.device_id, keys.identity_key, signed.key_id, signed.public_key, signed.signature, keys.now);
    for (const prekey of keys.one_time_prekeys ?? []) insertPrekey.run(keys.user_id, keys.device_id, prekey.key_id, prekey.public_key);
    return { ok: true, one_time_prekeys: count.get(keys.user_id, keys.device_id)!.n };
  });

  const removeUser = db.transaction((userId: string) => {
    db.prepare('DELETE FROM key_one_time WHERE user_id = ?').run(userId);
    db.prepare('DELETE FROM key_devices WHERE user_id = ?').run(userId);
  });

  const claim = db.transaction((userId: string, exceptDevice: string | undefined): ClaimedBundle[] =>
    devices
      .all(userId)
      .filter((row) => row.device_id !== exceptDevice)
      .map((row) => {
        const prekey = take.get(userId, row.device_id, userId, row.device_id);
        return {
          device_id: row.device_id,
          identity_key: row.identity_key,
          signed_prekey: { key_id: row.signed_key_id, public_key: row.signed_public_key, signature: row.signed_signature },
          ...(prekey ? { one_time_prekey: { key_id: prekey.key_id, public_key: prekey.public_key } } : {}),
          remaining: count.get(userId, row.device_id)!.n,
        };
      }),
  );

  return {
    publish: async (keys) => publish.immediate(keys),
    claim: async (userId, options = {}) => claim.immediate(userId, options.exceptDevice),
    remaining: async (userId, deviceId) => count.get(userId, deviceId)!.n,
    removeUser: async (userId) => {
      removeUser(userId);
    },
  };
};
