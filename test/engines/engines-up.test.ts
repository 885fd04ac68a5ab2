import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireEngines } from '../support/engines.ts';

// Every test file calls `engines.sh up` for the engines it needs, while other files keep them busy:
// `up` for an engine that is already running must leave it alone. It once ran `chown -R` over a live
// PostgreSQL's data directory first, which fails when the server removes a file during the walk.
test('engines.sh up, for a PostgreSQL that is running and busy creating and dropping files, succeeds every time', async () => {
  const { NATTER_PG_URL: connectionString } = await requireEngines('postgres');
  const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString }));
  await Promise.all(clients.map((c) => c.connect()));
  const schema = `natter_churn_${randomBytes(4).toString('hex')}`;
  await clients[0]!.query(`CREATE SCHEMA ${schema}`);
  let churning = true;
  // Each table and index is a file of its own, created and unlinked at once; a catalog change also
  // makes the server unlink its relation cache file (pg_internal.init), the file that vanished in the failure seen.
  // A failed query ends its client's churn with the error, which fails the test after the clean-up
  // (a rejection would go unhandled during the loop, and an open client keeps the test file running).
  const churn = clients.map(async (client, c): Promise<unknown> => {
    try {
      for (let i = 0; churning; i++) await client.query(`CREATE TABLE ${schema}.t${c}_${i} (id int PRIMARY KEY, v text); DROP TABLE ${schema}.t${c}_${i}`);
    } catch (error) {
      return error;
    }
    return undefined;
  });
  let ups = 0;
  let failed: unknown[] = [];
  try {
    for (; ups < 100; ups++) await requireEngines('postgres');
  } finally {
    churning = false;
    failed = (await Promise.all(churn)).filter((error) => error !== undefined);
    await clients[0]!.query(`DROP SCHEMA ${schema} CASCADE`);
    await Promise.all(clients.map((c) => c.end()));
  }
  if (failed.length > 0) throw failed[0];
  assert.equal(ups, 100);
});
