import type { ContentKeyStore, WrappedKey } from '../../ports/content-keys.ts';
import type { PostgresFeatures } from './features.ts';

type Row = { key_id: string; owner_id: string; wrapped: Buffer | null };

/**
 * The cluster's key store, shared by every process. A new key races only with itself: the first
 * insert wins (ON CONFLICT DO NOTHING) and everyone reads the winner. Destroying sets the key's
 * bytes to NULL; VACUUM then frees the old row versions (PostgreSQL does not zero freed space: keep
 * its data directory and backups encrypted, or on a KMS-wrapped volume).
 */
export const createPostgresContentKeyStore = ({ pool, schema }: PostgresFeatures): ContentKeyStore => ({
  getOrCreate: async (key) => {
    await pool.query(`INSERT INTO ${schema}.content_keys (key_id, owner_id, wrapped) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [key.key_id, key.owner_id, key.wrapped]);
    const row = (await pool.query<Row>(`SELECT key_id, owner_id, wrapped FROM ${schema}.content_keys WHERE key_id = $1`, [key.key_id])).rows[0]!;
    if (!row.wrapped) throw new Error(`key ${key.key_id} was destroyed`);
    return row as WrappedKey;
  },
  get: async (keyId) => {
    const row = (await pool.query<Row>(`SELECT key_id, owner_id, wrapped FROM ${schema}.content_keys WHERE key_id = $1`, [keyId])).rows[0];
    if (!row) return null;
    return row.wrapped ? row as WrappedKey : 'destroyed';
  },
  destroyOwner: async (ownerId) => {
    const result = await pool.query(`UPDATE ${schema}.content_keys SET wrapped = NULL, destroyed_at = $2 WHERE owner_id = $1 AND wrapped IS NOT NULL`, [ownerId, Date.now()]);
    await pool.query(`VACUUM ${schema}.content_keys`);
    return result.rowCount ?? 0;
  },
  close: async () => {},
});
