// Search index bench: how fast the search projection indexes a load of messages, and how fast
// queries answer over the corpus it built, for one engine (the embedded profile's SQLite FTS5 or the
// cluster's OpenSearch), beside a raw FTS5 insert loop on the same words as the limit.
//
//   tsx bench/adapters/search-index.ts --engine sqlite|opensearch [--messages 100000] [--queries 1000]
//
// The corpus is synthetic and deterministic: 1,000 conversations, messages of 4 to 16 words drawn
// from a 20,000-word vocabulary with a Zipf-like skew (a few words very common, most rare), some
// accented. Messages go through the real path: MessageSent events → the search projector (folding)
// → the adapter, in batches the size each profile's runtime hands a projector (embedded: 100 per
// unit of work; cluster: 500, a Kafka batch). Queries are the kinds a search box sends: a common
// word, two words with the last as a prefix, a rare word, a two-word phrase, each over one user's
// 20 conversations, limit 20. Prints lines, then one JSON object on its last line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../adapters/sqlite/database.ts';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { connectOpenSearch, searchIndexName } from '../../adapters/opensearch/client.ts';
import { createOpenSearchSearchIndex } from '../../adapters/opensearch/search-index.ts';
import { searchProjector } from '../../projections/search/projector.ts';
import { parseQuery, wordsOf } from '../../projections/search/text.ts';
import type { Recorded } from '../../ports/projector.ts';
import type { SearchIndex } from '../../ports/search.ts';
import { requireEngines } from '../../scripts/engines.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const engine = arg('engine', 'sqlite');
const MESSAGES = Number(arg('messages', '100000'));
const QUERIES = Number(arg('queries', '1000'));
const CONVERSATIONS = 1_000;
const VOCABULARY = 20_000;

// A small deterministic PRNG (mulberry32), so every run indexes the same corpus.
let seed = 0x5eed;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};
const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zé', 'pa', 'ço', 'be', 'du', 'fi', 'gà', 'ho'];
const vocabulary = Array.from({ length: VOCABULARY }, (_, i) => {
  let word = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / syllables.length)) word += syllables[n % syllables.length];
  return word;
});
/** Zipf-like: rank r drawn with weight about 1/r. */
const zipf = () => vocabulary[Math.min(VOCABULARY - 1, Math.floor(Math.exp(random() * Math.log(VOCABULARY))) - 1)]!;
const sentence = () => Array.from({ length: 4 + Math.floor(random() * 13) }, zipf).join(' ');

const T0 = 1_700_000_000_000;
const events: Recorded[] = Array.from({ length: MESSAGES }, (_, i) => {
  const conversation_id = `c${i % CONVERSATIONS}`;
  const seq = Math.floor(i / CONVERSATIONS) + 1;
  return {
    type: 'MessageSent',
    stream: `conversation-${conversation_id}`,
    revision: seq,
    position: i + 1,
    recordedAt: T0 + i,
    data: {
      conversation_id,
      seq,
      message_id: `m${i}`,
      sender_id: `u${i % 50}`,
      sender_device_id: 'd',
      client_msg_id: `k${i}`,
      content: sentence(),
      content_type: 'text',
      timestamp: T0 + i,
    },
  } as Recorded;
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The limit: a bare FTS5 table fed the same folded words, 1,000 rows per transaction. */
const rawFts5 = () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-bench-fts5-'));
  try {
    const db = openDatabase(join(dir, 'raw.db'), 'NORMAL');
    db.exec("CREATE VIRTUAL TABLE raw USING fts5(words, content = '', contentless_delete = 1, tokenize = 'ascii')");
    const insert = db.prepare('INSERT INTO raw (rowid, words) VALUES (?, ?)');
    const words = events.map((e) => wordsOf((e.data as { content: string }).content).join(' '));
    const tx = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(i + 1, words[i]);
    });
    const started = performance.now();
    for (let i = 0; i < words.length; i += 1_000) tx(i, Math.min(words.length, i + 1_000));
    const seconds = (performance.now() - started) / 1000;
    db.close();
    return { rows: words.length, seconds: round(seconds, 2), rows_per_s: round(words.length / seconds) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

type Opened = { index: SearchIndex; batch: number; apply(batch: Recorded[]): Promise<void>; settle(): Promise<void>; close(): Promise<void> };

const openSqlite = async (): Promise<Opened> => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-bench-search-'));
  const readModels = createSqliteReadModels(join(dir, 'readmodels.db'));
  const projector = searchProjector(readModels.search);
  return {
    index: readModels.search,
    batch: 100,
    apply: (batch) => readModels.unitOfWork(() => projector.handle(batch)),
    // The last window's commit counts in the time, as it does in a rebuild.
    settle: async () => {
      await readModels.unitOfWork(async () => {});
    },
    close: async () => {
      await readModels.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

const openOpenSearch = async (): Promise<Opened> => {
  const env = await requireEngines('opensearch');
  const client = await connectOpenSearch(env.NATTER_OPENSEARCH_URL);
  const prefix = `natter-bench-${randomBytes(4).toString('hex')}`;
  const index = createOpenSearchSearchIndex({ client, prefix, version: 1 });
  const projector = searchProjector(index);
  return {
    index,
    batch: 500,
    apply: (batch) => projector.handle(batch),
    // Indexed is findable: after the refresh that makes the last batch visible.
    settle: async () => {
      await client.indices.refresh({ index: searchIndexName(prefix, 1) });
    },
    close: async () => {
      await client.indices.delete({ index: searchIndexName(prefix, 1) }).catch(() => {});
      await client.close();
    },
  };
};

const queries = () =>
  Array.from({ length: QUERIES }, (_, i) => {
    const conversations = Array.from({ length: 20 }, () => `c${Math.floor(random() * CONVERSATIONS)}`);
    const text = (events[Math.floor(random() * events.length)]!.data as { content: string }).content.split(' ');
    const at = Math.floor(random() * Math.max(1, text.length - 1));
    switch (i % 4) {
      case 0:
        return { kind: 'common word', q: vocabulary[Math.floor(random() * 20)]!, conversations };
      case 1:
        return { kind: 'two words, prefix', q: `${zipf()} ${zipf().slice(0, 3)}`, conversations };
      case 2:
        return { kind: 'rare word', q: vocabulary[1_000 + Math.floor(random() * (VOCABULARY - 1_000))]!, conversations };
      default:
        return { kind: 'phrase', q: `"${text.slice(at, at + 2).join(' ')}"`, conversations };
    }
  });

const main = async () => {
  const raw = rawFts5();
  console.log(`raw FTS5 (tx=1000): ${raw.rows_per_s.toLocaleString('en-US')} rows/s`);
  const opened = engine === 'opensearch' ? await openOpenSearch() : await openSqlite();
  try {
    const started = performance.now();
    for (let i = 0; i < events.length; i += opened.batch) await opened.apply(events.slice(i, i + opened.batch));
    await opened.settle();
    const seconds = (performance.now() - started) / 1000;
    const indexRate = round(events.length / seconds);
    console.log(
      `${engine}: indexed ${events.length.toLocaleString('en-US')} messages in ${seconds.toFixed(2)} s (${indexRate.toLocaleString('en-US')} messages/s)`,
    );
    const latencies: number[] = [];
    let hits = 0;
    for (const { q, conversations } of queries()) {
      const t = performance.now();
      hits += (await opened.index.search({ terms: parseQuery(q), conversationIds: conversations, limit: 20 })).length;
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const query = {
      queries: latencies.length,
      p50_ms: round(percentile(latencies, 0.5), 2),
      p99_ms: round(percentile(latencies, 0.99), 2),
      mean_hits: round(hits / latencies.length, 1),
    };
    console.log(`${engine}: ${query.queries} queries, p50 ${query.p50_ms} ms, p99 ${query.p99_ms} ms (${query.mean_hits} hits on average)`);
    console.log(
      JSON.stringify({
        engine,
        messages: events.length,
        batch: opened.batch,
        index_seconds: round(seconds, 2),
        index_messages_per_s: indexRate,
        query,
        raw_fts5: raw,
      }),
    );
  } finally {
    await opened.close();
  }
};

await main();
