/**
 * Append throughput and latency of the event-store adapters, same load for each:
 *
 *   node --import tsx bench/adapters/event-store-appends.ts [seconds per run, default 5]
 *
 * Closed loop: C concurrent callers, each appending one event at a time to its own stream with a
 * numeric expected revision (as a conversation's writer does), for C = 1, 16, 256. Reports
 * appends/s and p50/p99 append latency (call to settled promise). SQLite runs in a temp dir with
 * synchronous=FULL (the embedded profile); PostgreSQL in a fresh schema of NATTER_PG_URL
 * (scripts/engines.sh, which runs it with fsync off; see there), dropped afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { EventStore } from '../../ports/event-store.ts';
import { createSqliteEventStore } from '../../adapters/sqlite/event-store.ts';
import { createPostgresEventStore } from '../../adapters/postgres/event-store.ts';

const seconds = Number(process.argv[2] ?? 5);
const pgUrl = process.env.NATTER_PG_URL ?? 'postgres://natter:natter@127.0.0.1:5442/natter';
const payload = { message_id: '0190f1e2-0000-7000-8000-000000000000', sender_id: 'alice', content: 'x'.repeat(120), content_type: 'text' };

const run = async (store: EventStore, callers: number) => {
  const latencies: number[] = [];
  const tag = randomBytes(4).toString('hex');
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let revision = -1; performance.now() < until; revision++) {
        const started = performance.now();
        await store.appendToStream(`bench-${tag}-${c}`, [{ type: 'MessageSent', data: payload }], { expectedRevision: revision < 0 ? 'no_stream' : revision });
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
  return { appendsPerSecond: Math.round(latencies.length / seconds), p50ms: at(0.5), p99ms: at(0.99) };
};

const rows: Array<Record<string, unknown>> = [];
const dir = mkdtempSync(join(tmpdir(), 'natter-measure-'));
const schema = `natter_measure_${randomBytes(4).toString('hex')}`;
try {
  for (const callers of [1, 16, 256]) {
    const sqlite = createSqliteEventStore({ path: join(dir, `events-${callers}.db`) });
    rows.push({ store: 'sqlite (FULL)', callers, ...(await run(sqlite, callers)) });
    await sqlite.close();
    const postgres = await createPostgresEventStore({ connectionString: pgUrl, schema });
    rows.push({ store: 'postgres', callers, ...(await run(postgres, callers)) });
    await postgres.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
console.table(rows);
