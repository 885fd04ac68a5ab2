import type cassandra from 'cassandra-driver';
import { checkKeyspace, connectCassandra } from './client.ts';

/**
 * The Cassandra schema as numbered migrations. Each statement is idempotent on its own
 * (`IF NOT EXISTS`), so a migration that died half-way is simply applied again; a migration is
 * recorded in `<keyspace>.schema_migrations` once all its statements succeeded. Never edit a
 * migration that has shipped: add the next number.
 *
 * Run migrations from one process (`natter migrate`) before starting the servers, not from every
 * server at boot: concurrent schema changes from several clients can leave the nodes with diverging
 * schema versions on Cassandra before 5.1 (no transactional metadata yet).
 */
export type Migration = { version: number; name: string; statements(keyspace: string, suffix?: string): string[] };

/*
 * History layout (migration 1).
 *
 * Bucket: `bucket = floor(seq / bucketSize)` (10,000 by default, see history-store.ts), not a time
 * window. Reads are always by seq (`before`/`after`, newest page), and a seq maps straight to its
 * bucket, so a page touches exactly the buckets it needs and never probes empty ones; a quiet
 * conversation lives in one partition forever, while time buckets would spread it over many nearly
 * empty partitions that a "previous page" would have to walk. A hot conversation's partition is
 * capped at 10,000 rows (≤ ~5 MB at the seeds' 200–500 byte messages, 160 MB only if every message
 * were 16,000 characters).
 *
 * Compaction: LeveledCompactionStrategy, not TWCS. TWCS groups SSTables by write-time window and
 * only pays off when whole windows expire together (TTL) and partitions do not span windows. Here
 * history is kept forever (no TTL), a seq bucket of a slow conversation spans months of writes, and
 * the rows carry synthetic write timestamps (see below) that are not wall-clock time, so TWCS
 * windows would be meaningless. The workload is "read the recent pages" of partitions written
 * piecemeal over time: LCS bounds the SSTables a partition read touches.
 *
 * Write timestamps: a message as sent must keep the first value written (the contract: a
 * replayed row never changes an existing one), without LWT (migration 2 puts changes above it). `messages` and `message_positions` are
 * written `USING TIMESTAMP 2^50 - position`, so when two writes for one (conversation, seq) differ,
 * the one with the lower log position wins whatever the arrival order, and an identical replay
 * writes identical cells. `conversation_last_seq` is written `USING TIMESTAMP last_seq`, so the
 * highest seq wins: a max without read-before-write or counters. Both stay below 2^50 µs (year
 * 2005), so an ordinary DELETE (a manual purge) still shadows them; reset() uses TRUNCATE.
 *
 * Versions: these are the tables of history version 1. A rebuild (`natter replay history`) writes
 * version N into the same tables suffixed `_v<N>` beside them (history-versions.ts), so the
 * statements are shared; migration 1's are exactly the unsuffixed ones.
 */
export const historyTableStatements = (ks: string, suffix = ''): string[] => [
  `CREATE TABLE IF NOT EXISTS ${ks}.messages${suffix} (
        conversation_id text, bucket int, seq bigint,
        message_id text, sender_id text, client_msg_id text, content text, content_type text,
        timestamp bigint, position bigint,
        PRIMARY KEY ((conversation_id, bucket), seq)
      ) WITH CLUSTERING ORDER BY (seq DESC)
        AND compaction = {'class': 'LeveledCompactionStrategy'}`,
  // Sync reads "messages after a global position": positions grow with seq inside a conversation,
  // so this index shares the message's seq bucket and clusters by position.
  `CREATE TABLE IF NOT EXISTS ${ks}.message_positions${suffix} (
        conversation_id text, bucket int, position bigint, seq bigint,
        PRIMARY KEY ((conversation_id, bucket), position)
      ) WITH compaction = {'class': 'LeveledCompactionStrategy'}`,
  `CREATE TABLE IF NOT EXISTS ${ks}.conversation_last_seq${suffix} (
        conversation_id text PRIMARY KEY, last_seq bigint
      )`,
];

/*
 * Messages after send (migration 2): edits, deletes, reactions, replies, mentions.
 *
 * Write timestamps (history-rows.ts): a message's own columns keep `2^50 - position` (the
 * first insert wins); an edit writes `content`, `edited_at` at `2^50 + 1 + position`, above every
 * insert, so the latest edit wins whatever the arrival order; a delete writes `content = ''`,
 * `mentions = []`, `deleted` at `2^50 + 1 + 2^49 + position`, above every edit (positions stay
 * below 2^49), so the text is overwritten on disk and no edit, replayed or late, brings it back.
 * `updated_position` is a max kept by timestamps (`2^50 + 1 + position` for every change); the
 * insert leaves it unset (it reads as the message's position), so a conflicting replay of the
 * insert cannot move it. An edit after a delete (the decider refuses one) still sets `edited_at`
 * and `updated_position`, never the text. `message_replies` rows are written like their message, `message_reactions` and
 * `message_updates` like a change. Up to a position of about 4·10^13 (3·10^13 more each year) every
 * timestamp is below the wall clock, so a manual DELETE still shadows them.
 *
 * A change may reach Cassandra before its message (write() sends its statements concurrently): the
 * UPDATE then makes a row without `message_id`, which reads skip until the insert fills it in.
 */
export const historyChangeStatements = (ks: string, suffix = ''): string[] => [
  // Frozen: a non-frozen list appends new cells on every replay instead of rewriting one value.
  `ALTER TABLE ${ks}.messages${suffix} ADD IF NOT EXISTS (
        reply_to_seq bigint, mentions frozen<list<text>>, edited_at bigint, deleted boolean, updated_position bigint
      )`,
  // One row per (message, emoji, user), present or not, `USING TIMESTAMP` the position, so the later
  // add or remove wins and a replay of an older one changes nothing. It shares the message's seq
  // bucket, so a page reads the reactions of its messages with one query per bucket.
  `CREATE TABLE IF NOT EXISTS ${ks}.message_reactions${suffix} (
        conversation_id text, bucket int, seq bigint, emoji text, user_id text, present boolean, position bigint,
        PRIMARY KEY ((conversation_id, bucket), seq, emoji, user_id)
      ) WITH compaction = {'class': 'LeveledCompactionStrategy'}`,
  // Replies by their parent, in the parent's seq bucket: a page counts the replies of its messages
  // with one GROUP BY query per bucket, and a thread lists its replies from one partition in seq order.
  // The rows are small (~20 bytes): a partition holds the replies to 10,000 messages, a million at ~20 MB.
  `CREATE TABLE IF NOT EXISTS ${ks}.message_replies${suffix} (
        conversation_id text, bucket int, parent_seq bigint, seq bigint,
        PRIMARY KEY ((conversation_id, bucket), parent_seq, seq)
      ) WITH compaction = {'class': 'LeveledCompactionStrategy'}`,
  // Changes by position, for sync (`changedAfter`): a change may hit a message in any seq bucket,
  // so this index is one partition per conversation, a ~30-byte row per changed message and
  // write() batch (the last change of a message in a batch only). An entry whose message has
  // changed again since is stale, and reads skip it as `afterPosition` skips stale positions.
  `CREATE TABLE IF NOT EXISTS ${ks}.message_updates${suffix} (
        conversation_id text, position bigint, seq bigint,
        PRIMARY KEY ((conversation_id), position)
      ) WITH compaction = {'class': 'LeveledCompactionStrategy'}`,
];

/** Every history table, in the order migrations create them (versions copy them all, suffixed). */
export const historyTables = ['messages', 'message_positions', 'conversation_last_seq', 'message_reactions', 'message_replies', 'message_updates'] as const;

/** A version's tables are made by the same statements as version 1's, in migration order. */
export const historyVersionStatements = (ks: string, suffix: string): string[] => [
  ...historyTableStatements(ks, suffix),
  ...historyChangeStatements(ks, suffix),
];

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'history: messages by (conversation, seq bucket), position index, last seq per conversation',
    statements: (ks, suffix) => historyTableStatements(ks, suffix),
  },
  {
    version: 2,
    name: 'history after send: edit, delete, reply and mention columns; reactions, replies and change index tables',
    statements: (ks, suffix) => historyChangeStatements(ks, suffix),
  },
];

export type Replication = Record<string, string | number>;
export type MigrateResult = { keyspace: string; applied: Array<{ version: number; name: string }>; alreadyApplied: number[] };

const replicationCql = (replication: Replication) =>
  `{${Object.entries(replication)
    .map(([k, v]) => `'${k.replace(/'/g, "''")}': '${String(v).replace(/'/g, "''")}'`)
    .join(', ')}}`;

/** Creates the keyspace if missing (an existing keyspace keeps its replication), then applies what is missing. */
export const migrate = async (client: cassandra.Client, keyspace: string, options: { replication: Replication }): Promise<MigrateResult> => {
  const ks = checkKeyspace(keyspace);
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(options.replication)}`);
  await client.execute(`CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (version int PRIMARY KEY, name text, applied_at timestamp)`);
  const done = new Set<number>();
  const rows = await client.execute(`SELECT version FROM ${ks}.schema_migrations`, [], { prepare: false });
  for (const row of rows.rows) done.add(Number(row.get('version')));

  // History versions built by a replay (`_v<N>` tables, history-versions.ts) get every migration
  // too: one of them may be the active history, which the new code writes as it writes version 1.
  const tables = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [ks], { prepare: true });
  const suffixes = ['', ...tables.rows.map((r) => /^messages(_v\d+)$/.exec(r.get('table_name'))?.[1]).filter((s): s is string => s !== undefined)];

  const applied: MigrateResult['applied'] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    for (const suffix of suffixes) {
      for (const statement of migration.statements(ks, suffix)) await client.execute(statement, [], { prepare: false });
    }
    await client.execute(`INSERT INTO ${ks}.schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [migration.version, migration.name, new Date()], {
      prepare: true,
    });
    applied.push({ version: migration.version, name: migration.name });
  }
  return { keyspace: ks, applied, alreadyApplied: [...done].sort((a, b) => a - b) };
};

export type MigrateSettings = { contactPoints: string[]; localDataCenter: string; keyspace: string; replicationFactor: number };

/**
 * `natter migrate` (the CLI wiring and the settings, NATTER_CASSANDRA_*, live elsewhere): connects,
 * creates the keyspace when missing with NetworkTopologyStrategy and the replication factor (1 for
 * the single local node; 3 in production) in the local DC, and applies the missing migrations.
 */
export const migrateCommand = async (settings: MigrateSettings, print: (line: string) => void = (line) => console.log(line)): Promise<MigrateResult> => {
  const { contactPoints, localDataCenter, keyspace, replicationFactor: rf } = settings;
  print(`cassandra ${contactPoints.join(',')} (dc ${localDataCenter}), keyspace ${keyspace}`);
  const client = await connectCassandra({ contactPoints, localDataCenter });
  try {
    const result = await migrate(client, keyspace, { replication: { class: 'NetworkTopologyStrategy', [localDataCenter]: rf } });
    if (result.alreadyApplied.length > 0) print(`already applied: ${result.alreadyApplied.join(', ')}`);
    for (const m of result.applied) print(`applied ${m.version}: ${m.name}`);
    if (result.applied.length === 0) print('schema is up to date');
    return result;
  } finally {
    await client.shutdown();
  }
};
