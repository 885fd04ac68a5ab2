import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import Database from 'better-sqlite3';
import type { ContentKeyStore } from '../../ports/content-keys.ts';
import { createContentCipher } from '../../adapters/crypto/content-cipher.ts';
import { createSqliteContentKeyStore } from '../../adapters/sqlite/content-keys.ts';
import { createPostgresContentKeyStore } from '../../adapters/postgres/content-keys.ts';
import { openDatabase } from '../../adapters/sqlite/database.ts';

/** Every file under `dir` whose raw bytes contain `needle` (any encoding we write: UTF-8). */
export const filesContaining = (dir: string, needle: string): string[] => {
  const bytes = Buffer.from(needle, 'utf8');
  const found: string[] = [];
  const walk = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const name of entries) {
      const file = join(path, name);
      let info: ReturnType<typeof statSync>;
      try {
        info = statSync(file);
      } catch {
        continue;
      }
      if (info.isDirectory()) walk(file);
      else if (info.isFile()) {
        try {
          if (readFileSync(file).includes(bytes)) found.push(file);
        } catch {
          /* gone meanwhile */
        }
      }
    }
  };
  walk(dir);
  return found;
};

/** The local engines' directory (scripts/engines.sh). */
export const enginesDir = () => process.env.NATTER_ENGINES_DIR ?? join(process.env.TMPDIR ?? tmpdir(), 'natter-engines');

/**
 * What an attacker with the master key and a copy of the stores could read: every sealed string in
 * the log, opened with the key store. Returns the texts that still open.
 */
const openable = async (sealed: string[], store: ContentKeyStore, masterKey: Buffer): Promise<string[]> => {
  const cipher = createContentCipher({ store, masterKey, ttlMs: 0 });
  const texts: string[] = [];
  for (const s of sealed) {
    const opened = await cipher.open(s);
    if (opened.ok) texts.push(opened.text);
  }
  return texts;
};

const sealedIn = (json: string): string[] => [...json.matchAll(/"(enc1\|[^"]+)"/g)].map((m) => m[1]!);

/** Embedded: the events.db of a data directory, opened with its keys.db and master key. */
export const recoverableInEmbedded = async (dataDir: string): Promise<string[]> => {
  const events = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    const sealed = events.prepare<[], string>('SELECT data FROM events').pluck().all().flatMap(sealedIn);
    const keys = createSqliteContentKeyStore(openDatabase(join(dataDir, 'keys.db'), 'FULL'));
    try {
      return await openable(sealed, keys, Buffer.from(readFileSync(join(dataDir, 'master-key'), 'utf8').trim(), 'hex'));
    } finally {
      await keys.close();
    }
  } finally {
    events.close();
  }
};

/** Cluster: the PostgreSQL log of a namespace, opened with its content_keys and master key. */
export const recoverableInCluster = async (env: Record<string, string>): Promise<string[]> => {
  const pool = new pg.Pool({ connectionString: env.NATTER_PG_URL });
  try {
    const schema = `"${env.NATTER_PG_SCHEMA}"`;
    const rows = (await pool.query<{ data: string }>(`SELECT data::text AS data FROM ${schema}.events`)).rows;
    return await openable(
      rows.flatMap((r) => sealedIn(r.data)),
      createPostgresContentKeyStore({ pool, schema, close: async () => {} }),
      Buffer.from(env.NATTER_MASTER_KEY!, 'hex'),
    );
  } finally {
    await pool.end();
  }
};

/** Every key of a Redis namespace, serialized (DUMP): what an RDB snapshot of it would hold. */
export const redisDumpsContaining = async (url: string, prefix: string, needle: string): Promise<string[]> => {
  const redis = new Redis(url);
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const dump = await redis.dumpBuffer(key);
        if (dump?.includes(Buffer.from(needle))) found.push(key);
      }
    } while (cursor !== '0');
    return found;
  } finally {
    redis.disconnect();
  }
};
