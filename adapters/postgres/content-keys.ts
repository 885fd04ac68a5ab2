import type { ContentKeyStore, WrappedKey } from '../../ports/content-keys.ts';
import type pg from 'pg';
import type { PostgresFeatures } from './features.ts';
import { reportedAs } from './unreachable.ts';

type Row = { key_id: string; owner_id: string; wrapped: Buffer | null };

/** One channel for every namespace on the server; the payload names the schema and the owner. */
const CHANNEL = 'natter_content_keys_destroyed';
const RETRY_MS = 1_000;
const reported = reportedAs('the key store');

/**
 * LISTEN on a client of its own, again after every lost connection; whatever happened while it was
 * not listening is unknown, so each (re)connection reports `undefined` (drop every cached key).
 */
const watchDestroyed = async ({ pool, schema }: PostgresFeatures, onDestroyed: (ownerId: string | undefined) => void) => {
  let closed = false;
  let client: pg.PoolClient | undefined;
  let retry: NodeJS.Timeout | undefined;
  const listen = async (): Promise<void> => {
    try {
      const next = await pool.connect();
      const lost = () => {
        if (client !== next) return;
        client = undefined;
        next.release(true);
        onDestroyed(undefined);
        if (!closed) retry = setTimeout(() => void listen(), RETRY_MS);
      };
      next.on('error', lost);
      next.on('end', lost);
      next.on('notification', (message) => {
        const { schema: of, owner } = JSON.parse(message.payload ?? '{}') as { schema?: string; owner?: string };
        if (of === schema && owner) onDestroyed(owner);
      });
      client = next;
      await next.query(`LISTEN ${CHANNEL}`);
      onDestroyed(undefined);
    } catch {
      if (!closed) retry = setTimeout(() => void listen(), RETRY_MS);
    }
  };
  await listen();
  return {
    close: async () => {
      closed = true;
      clearTimeout(retry);
      const last = client;
      client = undefined;
      last?.release(true);
    },
  };
};

/**
 * The cluster's key store, shared by every process. A new key races only with itself: the first
 * insert wins (ON CONFLICT DO NOTHING) and everyone reads the winner. Destroying sets the key's
 * bytes to NULL; VACUUM then frees the old row versions (PostgreSQL does not zero freed space: keep
 * its data directory and backups encrypted, or on a KMS-wrapped volume).
 */
export const createPostgresContentKeyStore = (postgres: PostgresFeatures): ContentKeyStore => {
  const { schema } = postgres;
  // A lost server is `unavailable` with a retry hint, as for the event log: a send retried later succeeds.
  const pool = {
    query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      postgres.pool.query<R>(text, values).catch((error) => {
        throw reported(error);
      }),
  };
  return {
    getOrCreate: async (key) => {
      await pool.query(`INSERT INTO ${schema}.content_keys (key_id, owner_id, wrapped) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        key.key_id,
        key.owner_id,
        key.wrapped,
      ]);
      const row = (await pool.query<Row>(`SELECT key_id, owner_id, wrapped FROM ${schema}.content_keys WHERE key_id = $1`, [key.key_id])).rows[0]!;
      if (!row.wrapped) throw new Error(`key ${key.key_id} was destroyed`);
      return row as WrappedKey;
    },
    get: async (keyId) => {
      const row = (await pool.query<Row>(`SELECT key_id, owner_id, wrapped FROM ${schema}.content_keys WHERE key_id = $1`, [keyId])).rows[0];
      if (!row) return null;
      return row.wrapped ? (row as WrappedKey) : 'destroyed';
    },
    destroyOwner: async (ownerId) => {
      const result = await pool.query(`UPDATE ${schema}.content_keys SET wrapped = NULL, destroyed_at = $2 WHERE owner_id = $1 AND wrapped IS NOT NULL`, [
        ownerId,
        Date.now(),
      ]);
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ schema, owner: ownerId })]);
      await pool.query(`VACUUM ${schema}.content_keys`);
      return result.rowCount ?? 0;
    },
    watchDestroyed: (onDestroyed) => watchDestroyed(postgres, onDestroyed),
    close: async () => {},
  };
};
