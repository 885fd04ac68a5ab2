import type { ClaimedBundle, KeyDirectory, PublishResult } from '../../ports/key-directory.ts';
import { MAX_STORED_PREKEYS } from '../../contracts/keys.ts';
import { inTransaction, type PostgresFeatures } from './features.ts';

type DeviceRow = { device_id: string; identity_key: string; signed_key_id: string; signed_public_key: string; signed_signature: string };

/**
 * The cluster's key directory, shared by every gateway. A claim takes each device's lowest one-time
 * pre-key with `DELETE … WHERE key_id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`: the
 * row lock makes two concurrent claims take two different keys, and SKIP LOCKED sends the second to
 * the next key instead of letting it wait, re-check and come back empty-handed. A publish locks the
 * device's row, so an upload and a reinstall do not interleave.
 */
export const createPostgresKeyDirectory = ({ pool, schema }: PostgresFeatures): KeyDirectory => {
  const count = async (q: { query: typeof pool.query }, userId: string, deviceId: string) =>
    Number(
      (await q.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.key_one_time WHERE user_id = $1 AND device_id = $2`, [userId, deviceId])).rows[0]!.n,
    );

  return {
    publish: (keys) =>
      inTransaction(pool, async (client): Promise<PublishResult> => {
        // Per device, even a new one (no row to lock yet): two uploads of one device do not interleave.
        await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`keys ${keys.user_id} ${keys.device_id}`]);
        const existing = (
          await client.query<DeviceRow>(`SELECT * FROM ${schema}.key_devices WHERE user_id = $1 AND device_id = $2`, [keys.user_id, keys.device_id])
        ).rows[0];
        const resetIdentity = !existing || existing.identity_key !== keys.identity_key;
        const signed =
          keys.signed_prekey ??
          (resetIdentity || !existing
            ? undefined
            : { key_id: Number(existing.signed_key_id), public_key: existing.signed_public_key, signature: existing.signed_signature });
        if (!signed) return { ok: false, reason: 'signed_prekey_required' };
        if (resetIdentity) await client.query(`DELETE FROM ${schema}.key_one_time WHERE user_id = $1 AND device_id = $2`, [keys.user_id, keys.device_id]);
        const stored = await count(client, keys.user_id, keys.device_id);
        const adding = keys.one_time_prekeys ?? [];
        if (stored + adding.length > MAX_STORED_PREKEYS) return { ok: false, reason: 'too_many_prekeys', stored };
        await client.query(
          `INSERT INTO ${schema}.key_devices (user_id, device_id, identity_key, signed_key_id, signed_public_key, signed_signature, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, device_id) DO UPDATE SET identity_key = excluded.identity_key,
        signed_key_id = excluded.signed_key_id, signed_public_key = excluded.signed_public_key, signed_signature = excluded.signed_signature,
        updated_at = excluded.updated_at`,
          [keys.user_id, keys.device_id, keys.identity_key, signed.key_id, signed.public_key, signed.signature, keys.now],
        );
        if (adding.length > 0) {
          await client.query(
            `INSERT INTO ${schema}.key_one_time (user_id, device_id, key_id, public_key)
          SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[]) ON CONFLICT DO NOTHING`,
            [keys.user_id, keys.device_id, adding.map((k) => k.key_id), adding.map((k) => k.public_key)],
          );
        }
        return { ok: true, one_time_prekeys: await count(client, keys.user_id, keys.device_id) };
      }),

    claim: async (userId, options = {}): Promise<ClaimedBundle[]> => {
      const devices = (await pool.query<DeviceRow>(`SELECT * FROM ${schema}.key_devices WHERE user_id = $1 ORDER BY device_id`, [userId])).rows.filter(
        (row) => row.device_id !== options.exceptDevice,
      );
      return Promise.all(
        devices.map(async (row) => {
          const taken = (
            await pool.query<{ key_id: string; public_key: string }>(
              `DELETE FROM ${schema}.key_one_time
          WHERE user_id = $1 AND device_id = $2 AND key_id = (
            SELECT key_id FROM ${schema}.key_one_time WHERE user_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING key_id, public_key`,
              [userId, row.device_id],
            )
          ).rows[0];
          return {
            device_id: row.device_id,
            identity_key: row.identity_key,
            signed_prekey: { key_id: Number(row.signed_key_id), public_key: row.signed_public_key, signature: row.signed_signature },
            ...(taken ? { one_time_prekey: { key_id: Number(taken.key_id), public_key: taken.public_key } } : {}),
            remaining: await count(pool, userId, row.device_id),
          };
        }),
      );
    },

    remaining: (userId, deviceId) => count(pool, userId, deviceId),
    removeUser: (userId) =>
      inTransaction(pool, async (client) => {
        await client.query(`DELETE FROM ${schema}.key_one_time WHERE user_id = $1`, [userId]);
        await client.query(`DELETE FROM ${schema}.key_devices WHERE user_id = $1`, [userId]);
      }),
  };
};
