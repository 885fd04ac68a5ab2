import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../adapters/sqlite/database.ts';
import { createSqliteKeyDirectory } from '../../adapters/sqlite/key-directory.ts';
import { createSqliteMediaStore } from '../../adapters/sqlite/media-store.ts';
import { openPostgresFeatures } from '../../adapters/postgres/features.ts';
import { createPostgresKeyDirectory } from '../../adapters/postgres/key-directory.ts';
import { createPostgresMediaStore } from '../../adapters/postgres/media-store.ts';
import { requireEngines } from '../support/engines.ts';
import { tempDir } from '../support/natter.ts';
import { keyDirectoryContract } from './key-directory.contract.ts';
import { mediaStoreContract } from './media-store.contract.ts';

const { NATTER_PG_URL: connectionString } = await requireEngines('postgres');
// A fresh schema per run, so parallel runs never share a table (the media contract resets every share in it).
const schema = `natter_test_${randomBytes(6).toString('hex')}`;

after(async () => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

// SQLite: the embedded files, with two connections on one file (as two processes would have).
keyDirectoryContract('sqlite', async () => {
  const path = join(tempDir('natter-keys-'), 'devices.db');
  const dbs = [openDatabase(path, 'FULL'), openDatabase(path, 'FULL')];
  return {
    directories: dbs.map(createSqliteKeyDirectory),
    close: async () => {
      for (const db of dbs) db.close();
    },
  };
});
mediaStoreContract('sqlite', async () => {
  const db = openDatabase(join(tempDir('natter-media-'), 'media.db'), 'FULL');
  return {
    media: createSqliteMediaStore(db),
    close: async () => {
      db.close();
    },
  };
});

// PostgreSQL: five stores on pools of their own, as five gateways have, so that concurrent claims
// run in up to 30 sessions at once.
keyDirectoryContract('postgres', async () => {
  const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresFeatures({ connectionString, schema, poolSize: 6 })));
  return {
    directories: stores.map(createPostgresKeyDirectory),
    close: async () => {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
});
mediaStoreContract('postgres', async () => {
  const store = await openPostgresFeatures({ connectionString, schema });
  return { media: createPostgresMediaStore(store), close: () => store.close() };
});
