import type pg from 'pg';

/**
 * A client of the pool for several statements. While it is out of the pool nothing listens for its
 * 'error' event (the pool's own listener is for idle clients), and a connection lost between two
 * statements (the server killed or restarting) would end the process; the statements fail anyway,
 * so the event itself is dropped here. `release(true)` discards a client that failed.
 */
export const checkout = async (pool: pg.Pool): Promise<{ client: pg.PoolClient; release(broken?: boolean): void }> => {
  const client = await pool.connect();
  const ignore = () => undefined;
  client.on('error', ignore);
  return {
    client,
    release: (broken = false) => {
      client.removeListener('error', ignore);
      client.release(broken ? true : undefined);
    },
  };
};

/** Quotes an SQL identifier (schema, table, channel names). */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A stable 31-bit hash (FNV-1a) used to derive advisory-lock keys from the schema name. */
export const lockKey = (text: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x7fffffff;
};

/** First argument of every two-key advisory lock Natter takes ("NATR"), so it cannot collide with other users of advisory locks. */
export const LOCK_NAMESPACE = 0x4e415452;
/** Second-key kinds, mixed with the schema's hash: one lock serializes appends, one migrations. */
export const appendLockKey = (schema: string): number => lockKey(`events.append:${schema}`);
export const migrateLockKey = (schema: string): number => lockKey(`events.migrate:${schema}`);

/** The NOTIFY channel of a schema's event log (identifiers are at most 63 bytes, so long names are hashed). */
export const notifyChannel = (schema: string): string => {
  const name = `natter_events_${schema}`;
  return Buffer.byteLength(name) <= 63 ? name : `natter_events_${lockKey(schema).toString(36)}`;
};

/**
 * The events table. `position` is the global order; its sequence has CACHE 1 (the default) so
 * values are handed out in call order across sessions, which the append lock relies on (see
 * event-store.ts). `(stream, revision)` is UNIQUE: the backstop of optimistic concurrency, and the
 * index every stream read uses. `data` and `metadata` are `json` (the text as sent, validated),
 * not `jsonb`: jsonb rejects `\u0000` in strings, which chat content may contain, and would spend
 * time normalizing a document nobody queries inside the database.
 */
const ddl = (schema: string): string => {
  const s = ident(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE SEQUENCE IF NOT EXISTS ${s}.events_position_seq AS bigint START 1 CACHE 1;
CREATE TABLE IF NOT EXISTS ${s}.events (
  position    bigint  PRIMARY KEY DEFAULT nextval('${s.replace(/'/g, "''")}.events_position_seq'),
  stream      text    NOT NULL,
  revision    integer NOT NULL CHECK (revision >= 0),
  type        text    NOT NULL,
  data        json    NOT NULL,
  metadata    json,
  recorded_at bigint  NOT NULL,
  CONSTRAINT events_stream_revision_key UNIQUE (stream, revision)
);
ALTER SEQUENCE ${s}.events_position_seq OWNED BY ${s}.events.position;`;
};

/**
 * Creates the schema, sequence and table if missing. Idempotent, and safe when several processes
 * start at once: `CREATE ... IF NOT EXISTS` alone can still race on the catalog, so the DDL runs
 * under a transaction-scoped advisory lock.
 */
export const migrate = async (client: pg.ClientBase, schema: string): Promise<void> => {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${migrateLockKey(schema)})`);
    await client.query(ddl(schema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
};
