// search: the search projection's index rate (messages/s) over a load of messages (full: 100,000;
// quick: 10,000) and query p50/p99 over the corpus it built, beside a raw FTS5 insert loop on the
// same words (tx=1000) as the limit. `search` measures the embedded profile's SQLite FTS5 adapter
// (batches of 100 in the read models' units of work, as the projection runtime applies them);
// `cluster-search` (--profile cluster) the OpenSearch adapter (batches of 500, a Kafka batch, then
// the refresh that makes them findable). Both feed the real search projector, so folding counts.
// The work runs in a child process (bench/adapters/search-index.ts), which prints a JSON line.
import path from 'node:path';
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg } from '../lib/context.ts';
import { engines, EnginesUnavailable } from '../lib/engines.ts';
import { BENCH_DIR, spawnNode } from '../lib/proc.ts';
import { row, type ScenarioResult } from '../lib/report.ts';

type Measured = {
  engine: string;
  messages: number;
  batch: number;
  index_seconds: number;
  index_messages_per_s: number;
  query: { queries: number; p50_ms: number; p99_ms: number; mean_hits: number };
  raw_fts5: { rows: number; seconds: number; rows_per_s: number };
};

const measure = async (ctx: Ctx, engine: 'sqlite' | 'opensearch', messages: number, queries: number): Promise<Measured> => {
  ctx.log(`search: ${engine}, ${messages.toLocaleString('en-US')} messages, ${queries} queries`);
  const child = spawnNode(
    ['--import', 'tsx', path.join(BENCH_DIR, 'adapters', 'search-index.ts'), '--engine', engine, '--messages', String(messages), '--queries', String(queries)],
    { quiet: true, name: 'search-index' },
  );
  let out = '';
  let err = '';
  child.proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.proc.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve));
  if (code !== 0) throw new Error(`search-index.ts exited with ${code}: ${(err || out).trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Measured;
};

const scenario = (name: 'search' | 'cluster-search', engine: 'sqlite' | 'opensearch'): Scenario => ({
  name,
  describe: `search index rate and query latency (${engine === 'sqlite' ? 'SQLite FTS5' : 'OpenSearch'}) beside raw FTS5 inserts`,
  run: async (ctx): Promise<ScenarioResult> => {
    if (engine === 'opensearch') {
      try {
        await engines('opensearch');
      } catch (e) {
        const reason = e instanceof EnginesUnavailable ? e.message : `engines: ${errMsg(e)}`;
        return { name, line: `${name}: skipped (${reason})`, figures: {}, rows: [], skipped: reason };
      }
    }
    const messages = ctx.quick ? 10_000 : 100_000;
    const m = await measure(ctx, engine, messages, ctx.quick ? 200 : 1_000);
    const label = engine === 'sqlite' ? 'SQLite FTS5' : 'OpenSearch';
    const rows = [
      row(
        `index rate, ${m.messages.toLocaleString('en-US')} messages (${label}, batches of ${m.batch})`,
        'msgs/s',
        m.index_messages_per_s,
        m.raw_fts5.rows_per_s,
        'raw FTS5 rows/s, tx=1000',
      ),
      row(`query p50 over that corpus (${label}, 20 conversations, limit 20)`, 'ms', m.query.p50_ms, null, ''),
      row(`query p99 over that corpus (${label}, 20 conversations, limit 20)`, 'ms', m.query.p99_ms, null, ''),
    ];
    const line = `${name}: ${label} indexes ${m.index_messages_per_s.toLocaleString('en-US')} msgs/s (raw FTS5 ${m.raw_fts5.rows_per_s.toLocaleString('en-US')} rows/s), query p50 ${m.query.p50_ms} ms, p99 ${m.query.p99_ms} ms over ${m.messages.toLocaleString('en-US')} messages`;
    return { name, line, figures: m, rows };
  },
});

export const search = scenario('search', 'sqlite');
export const clusterSearch = scenario('cluster-search', 'opensearch');
