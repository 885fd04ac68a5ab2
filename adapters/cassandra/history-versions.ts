import type cassandra from 'cassandra-driver';
import { checkKeyspace } from './client.ts';
import { historyTables, historyVersionStatements } from './migrations.ts';

/**
 * History versions for blue/green rebuilds: version 1 is the tables of the migrations, version N the
 * same tables suffixed `_v<N>` in the same keyspace (a keyspace per version would need its
 * replication settings copied, and a table per version keeps one `natter migrate` keyspace).
 */
export const historyTableSuffix = (version = 1): string => {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`history version must be an integer >= 1, got ${version}`);
  return version === 1 ? '' : `_v${version}`;
};

/**
 * Creates version N's tables, empty. Run by the one process that builds the version (the replay),
 * never by every server at once, for the same reason as the migrations (diverging schema versions).
 * Version 1 belongs to `natter migrate`.
 */
export const createHistoryVersion = async (client: cassandra.Client, keyspace: string, version: number) => {
  const ks = checkKeyspace(keyspace);
  const suffix = historyTableSuffix(version);
  if (suffix === '') throw new Error('history version 1 is created by natter migrate');
  for (const statement of historyVersionStatements(ks, suffix)) await client.execute(statement, [], { prepare: false });
  // A version number is never handed out twice, but a build that died may have left rows behind.
  for (const table of historyTables) await client.execute(`TRUNCATE ${ks}.${table}${suffix}`, [], { prepare: false });
};

/** Deletes a retired version: version N's tables are dropped; version 1's, which the migrations own, are emptied. */
export const dropHistoryVersion = async (client: cassandra.Client, keyspace: string, version: number) => {
  const ks = checkKeyspace(keyspace);
  const suffix = historyTableSuffix(version);
  for (const table of historyTables) {
    await client.execute(suffix === '' ? `TRUNCATE ${ks}.${table}` : `DROP TABLE IF EXISTS ${ks}.${table}${suffix}`, [], { prepare: false });
  }
};
