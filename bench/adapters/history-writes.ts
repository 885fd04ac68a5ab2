// History writes/s, Cassandra (adapters/cassandra/history-store.ts) vs SQLite
// (adapters/sqlite/history-store.ts): the same MessageSent rows, handed to write() in the
// projector's batch sizes, one write() at a time (as the projection runtimes do).
// Usage: tsx bench/adapters/history-writes.ts [--messages 20000] [--conversations 100]
// Prints one line per case, then a JSON object on the last line. Needs Cassandra (started if missing).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { requireEngines } from '../../scripts/engines.ts';
import { openDatabase } from '../../adapters/sqlite/database.ts';
import { createSqliteHistoryStore } from '../../adapters/sqlite/history-store.ts';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { migrate } from '../../adapters/cassandra/migrations.ts';
import { createCassandraHistoryStore } from '../../adapters/cassandra/history-store.ts';
import type { HistoryStore, HistoryWrite } from '../../ports/read-models.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const total = arg('messages', 20_000);
const conversations = arg('conversations', 100);
const content = 'x'.repeat(arg('content', 200));

const env = await requireEngines('cassandra');
const run = randomUUID().slice(0, 8);
const rows = (prefix: string): HistoryWrite[] =>
  Array.from({ length: total }, (_, i) => ({
    op: 'message',
    message: {
      conversation_id: `${prefix}-c${i % conversations}`,
      seq: Math.floor(i / conversations) + 1,
      message_id: `m-${i}`,
      sender_id: 'alice',
      client_msg_id: `k-${i}`,
      content,
      content_type: 'text',
      timestamp: 1_700_000_000_000 + i,
      position: i + 1,
      reply_to_seq: null,
      mentions: [],
    },
  }));

const measure = async (name: string, store: HistoryStore, batch: number) => {
  const messages = rows(`${name}-${run}`);
  const t0 = performance.now();
  for (let i = 0; i < messages.length; i += batch) await store.write(messages.slice(i, i + batch));
  const seconds = (performance.now() - t0) / 1000;
  const rate = Math.round(messages.length / seconds);
  console.log(`${name} batch=${batch}: ${messages.length} messages in ${seconds.toFixed(2)} s = ${rate} writes/s`);
  return { case: name, batch, messages: messages.length, seconds: Number(seconds.toFixed(3)), writes_per_s: rate };
};

const results: Array<Record<string, number | string>> = [];
const dir = mkdtempSync(join(tmpdir(), 'natter-bench-history-'));
const db = openDatabase(join(dir, 'read-models.db'), 'NORMAL');
try {
  const sqlite = createSqliteHistoryStore(db);
  for (const batch of [100, 1_000]) results.push(await measure('sqlite', sqlite, batch));
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

const keyspace = `natter_bench_${run}`;
const client = await connectCassandra({ contactPoints: env.NATTER_CASSANDRA_CONTACT_POINTS.split(','), localDataCenter: env.NATTER_CASSANDRA_DC });
try {
  await migrate(client, keyspace, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
  const cassandra = createCassandraHistoryStore({ client, keyspace });
  for (const batch of [100, 1_000]) results.push(await measure('cassandra', cassandra, batch));
} finally {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
  await client.shutdown();
}
console.log(JSON.stringify({ bench: 'history-writes', conversations, content_bytes: content.length, results }));
