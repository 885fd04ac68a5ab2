import type { MediaRecord, MediaStore } from '../../ports/media-store.ts';
import type { PostgresFeatures } from './features.ts';

type Row = Omit<MediaRecord, 'size' | 'created_at'> & { size: string; created_at: string };

const record = (row: Row): MediaRecord => ({ ...row, size: Number(row.size), created_at: Number(row.created_at) });

/**
 * The cluster's media records (written by the gateway that took the upload, read by every gateway)
 * and the shares read model (written by the media-shares projector in the projector workers).
 */
export const createPostgresMediaStore = ({ pool, schema }: PostgresFeatures): MediaStore => ({
  add: async (r) => {
    await pool.query(
      `INSERT INTO ${schema}.media (media_id, owner_id, content_type, size, blob_key, created_at, thumbnail, width, height)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.media_id, r.owner_id, r.content_type, r.size, r.blob_key, r.created_at, r.thumbnail, r.width, r.height],
    );
  },
  get: async (mediaId) => {
    const { rows } = await pool.query<Row>(`SELECT * FROM ${schema}.media WHERE media_id = $1`, [mediaId]);
    return rows[0] ? record(rows[0]) : null;
  },
  share: async (shares) => {
    if (shares.length === 0) return;
    await pool.query(
      `INSERT INTO ${schema}.media_shares (media_id, conversation_id)
      SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
      [shares.map((s) => s.media_id), shares.map((s) => s.conversation_id)],
    );
  },
  sharedIn: async (mediaId) =>
    (await pool.query<{ conversation_id: string }>(`SELECT conversation_id FROM ${schema}.media_shares WHERE media_id = $1`, [mediaId])).rows.map(
      (r) => r.conversation_id,
    ),
  resetShares: async () => {
    await pool.query(`DELETE FROM ${schema}.media_shares`);
  },
});
