import pg from 'pg';
import { checkout, ident, LOCK_NAMESPACE, migrateLockKey } from './schema.ts';

/**
 * The tables of the features that live beside the event log in the cluster: media records and
 * shares, the key directory, and the data keys of message content. Created if missing, under the same advisory lock as the log's own
 * migration, so several processes starting at once do not race on the catalog.
 */
const ddl = (schema: string): string => {
  const s = ident(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.media (
  media_id text PRIMARY KEY, owner_id text NOT NULL, content_type text NOT NULL, size bigint NOT NULL,
  blob_key text NOT NULL, created_at bigint NOT NULL, thumbnail text, width integer, height integer
);
CREATE TABLE IF NOT EXISTS ${s}.media_shares (
  media_id text NOT NULL, conversation_id text NOT NULL, PRIMARY KEY (media_id, conversation_id)
);
CREATE TABLE IF NOT EXISTS ${s}.key_devices (
  user_id text NOT NULL, device_id text NOT NULL, identity_key text NOT NULL,
  signed_key_id bigint NOT NULL, signed_public_key text NOT NULL, signed_signature text NOT NULL,
  updated_at bigint NOT NULL, PRIMARY KEY (user_id, device_id)
);
CREATE TABLE IF NOT EXISTS ${s}.content_keys (
  key_id text PRIMARY KEY, owner_id text NOT NULL, wrapped bytea, destroyed_at bigint
);
CREATE INDEX IF NOT EXISTS content_keys_by_owner ON ${s}.content_keys (owner_id);
CREATE TABLE IF NOT EXISTS ${s}.key_one_time (
  user_id text NOT NULL, device_id text NOT NULL, key_id bigint NOT NULL, public_key text NOT NULL,
  PRIMARY KEY (user_id, device_id, key_id)
);`;
};

/** A pool on the cluster's PostgreSQL with the feature tables in `schema`. */
export const openPostgresFeatures = async (options: { connectionString: string; schema: string; poolSize?: number }) => {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
  // An idle client that loses its server (a PostgreSQL restart) must not crash the process.
  pool.on('error', () => {});
  const { client, release } = await checkout(pool);
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${migrateLockKey(options.schema)})`);
    await client.query(ddl(options.schema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    release(true);
    await pool.end();
    throw error;
  }
  release();
  return { pool, schema: ident(options.schema), close: () => pool.end() };
};
export type PostgresFeatures = Awaited<ReturnType<typeof openPostgresFeatures>>;

/** Runs `work` in one transaction on one client of the pool. */
export const inTransaction = async <T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
  const { client, release } = await checkout(pool);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A failed ROLLBACK means a lost connection: the client is not put back.
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    release(broken);
  }
};
