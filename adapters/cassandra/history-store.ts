import cassandra from 'cassandra-driver';
import type { HistoryPage, HistoryStore, StoredMessage } from '../../ports/read-models.ts';
import type { ContentType } from '../../contracts/primitives.ts';
import { checkKeyspace } from './client.ts';
import { historyTableSuffix } from './history-versions.ts';

export type CassandraHistoryOptions = {
  client: cassandra.Client;
  keyspace: string;
  /**
   * Messages per partition: `bucket = floor(seq / bucketSize)`. Part of the data's address: never
   * change it for a keyspace that holds data (rebuild the history into a new keyspace instead).
   */
  bucketSize?: number;
  /** Requests in flight per write() call. */
  concurrency?: number;
  /** The read model's version: 1 (default) is the tables of migration 1, N their `_v<N>` copies (history-versions.ts). */
  version?: number;
};

export const DEFAULT_BUCKET_SIZE = 10_000;

/** See migrations.ts: the lower log position wins a conflicting replay; timestamps stay below 2^50 µs. */
const TIMESTAMP_BASE = 2 ** 50;
/** Rows per single-partition unlogged batch (one mutation, so not subject to batch size limits). */
const BATCH_ROWS = 100;

const toNumber = (value: unknown): number => {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as cassandra.types.Long).toNumber();
  throw new Error(`not a number: ${String(value)}`);
};
const long = (n: number) => cassandra.types.Long.fromNumber(n);

const toMessage = (row: cassandra.types.Row): StoredMessage => ({
  conversation_id: row.get('conversation_id'),
  seq: toNumber(row.get('seq')),
  message_id: row.get('message_id'),
  sender_id: row.get('sender_id'),
  client_msg_id: row.get('client_msg_id'),
  content: row.get('content'),
  content_type: row.get('content_type') as ContentType,
  timestamp: toNumber(row.get('timestamp')),
  position: toNumber(row.get('position')),
});

const mapLimit = async <T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) => {
  let next = 0;
  const worker = async () => { while (next < items.length) await fn(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/**
 * Message history in Cassandra, partitioned by (conversation_id, seq bucket); see migrations.ts for
 * the layout and why. Three tables:
 * - `messages`: the rows, clustering by seq (descending: "newest page" is the common read);
 * - `message_positions`: (conversation_id, bucket) → position → seq, for sync (`afterPosition`);
 * - `conversation_last_seq`: the highest seq per conversation, a max kept by write timestamps, so
 *   the newest page starts in the right bucket without scanning.
 *
 * write() is idempotent and LWT-free: plain INSERTs, grouped into single-partition unlogged
 * batches. Messages and the position index are written first, the last seq after them, so
 * `last_seq` never points past rows that are not there yet. A write() that fails half-way is
 * retried by the projector runtime with the same rows, which land as the same cells.
 */
export const createCassandraHistoryStore = (options: CassandraHistoryOptions): HistoryStore => {
  const { client } = options;
  const ks = checkKeyspace(options.keyspace);
  const B = options.bucketSize ?? DEFAULT_BUCKET_SIZE;
  const concurrency = options.concurrency ?? 128;
  if (!Number.isInteger(B) || B < 1) throw new Error(`bucketSize must be a positive integer, got ${B}`);
  const bucketOf = (seq: number) => Math.floor(seq / B);
  const suffix = historyTableSuffix(options.version);
  const [messages, positions, lastSeqs] = [`${ks}.messages${suffix}`, `${ks}.message_positions${suffix}`, `${ks}.conversation_last_seq${suffix}`];

  const columns = 'conversation_id, seq, message_id, sender_id, client_msg_id, content, content_type, timestamp, position';
  const cql = {
    insertMessage: `INSERT INTO ${messages} (conversation_id, bucket, seq, message_id, sender_id, client_msg_id, content, content_type, timestamp, position)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
    insertPosition: `INSERT INTO ${positions} (conversation_id, bucket, position, seq) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
    insertLastSeq: `INSERT INTO ${lastSeqs} (conversation_id, last_seq) VALUES (?, ?) USING TIMESTAMP ?`,
    lastSeq: `SELECT last_seq FROM ${lastSeqs} WHERE conversation_id = ?`,
    rangeAsc: `SELECT ${columns} FROM ${messages} WHERE conversation_id = ? AND bucket = ? AND seq >= ? AND seq <= ? ORDER BY seq ASC LIMIT ?`,
    rangeDesc: `SELECT ${columns} FROM ${messages} WHERE conversation_id = ? AND bucket = ? AND seq >= ? AND seq <= ? ORDER BY seq DESC LIMIT ?`,
    firstPosition: `SELECT position FROM ${positions} WHERE conversation_id = ? AND bucket = ? ORDER BY position ASC LIMIT 1`,
    positions: `SELECT position, seq FROM ${positions} WHERE conversation_id = ? AND bucket = ? AND position > ? AND position <= ? ORDER BY position ASC LIMIT ?`,
  };
  const read = { prepare: true, isIdempotent: true } as const;
  const write = { prepare: true, isIdempotent: true, logged: false } as const;

  const lastSeq = async (conversationId: string): Promise<number | null> => {
    const row = (await client.execute(cql.lastSeq, [conversationId], read)).first();
    return row ? toNumber(row.get('last_seq')) : null;
  };

  /** Up to `limit` messages with lo <= seq <= hi, walking buckets in the given direction; ascending result. */
  const range = async (conversationId: string, lo: number, hi: number, limit: number, direction: 'asc' | 'desc'): Promise<StoredMessage[]> => {
    lo = Math.max(lo, 0);
    if (lo > hi || limit <= 0) return [];
    const out: StoredMessage[] = [];
    const [first, last, step] = direction === 'asc' ? [bucketOf(lo), bucketOf(hi), 1] : [bucketOf(hi), bucketOf(lo), -1];
    for (let b = first; out.length < limit && (step > 0 ? b <= last : b >= last); b += step) {
      const from = Math.max(lo, b * B);
      const to = Math.min(hi, b * B + B - 1);
      const query = direction === 'asc' ? cql.rangeAsc : cql.rangeDesc;
      const rows = await client.execute(query, [conversationId, b, long(from), long(to), limit - out.length], read);
      for (const row of rows.rows) out.push(toMessage(row));
    }
    return direction === 'asc' ? out : out.reverse();
  };

  const firstPosition = async (conversationId: string, bucket: number): Promise<number | null> => {
    const row = (await client.execute(cql.firstPosition, [conversationId, bucket], read)).first();
    return row ? toNumber(row.get('position')) : null;
  };

  /**
   * The bucket where messages above `after` begin: the highest bucket whose first position is
   * <= after (every earlier bucket holds only lower positions), or 0. The newest bucket is tried
   * first, because a device syncing usually missed only recent messages; otherwise a binary search
   * over 0..newest-1, so a cursor far back costs log2(buckets) one-row reads, never a scan.
   * Starting too early is harmless (the scan below filters by position), so an empty bucket is
   * treated as "later than after".
   */
  const startBucket = async (conversationId: string, after: number, newest: number): Promise<number> => {
    const newestFirst = await firstPosition(conversationId, newest);
    if (newestFirst !== null && newestFirst <= after) return newest;
    let lo = 0;
    let hi = newest - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = await firstPosition(conversationId, mid);
      if (p !== null && p <= after) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  };

  return {
    async write(messages) {
      if (messages.length === 0) return;
      const partitions = new Map<string, StoredMessage[]>();
      const maxSeq = new Map<string, number>();
      for (const m of messages) {
        if (!(m.position >= 0 && m.position < TIMESTAMP_BASE)) throw new Error(`position ${m.position} out of range`);
        const key = `${m.conversation_id}\u0000${bucketOf(m.seq)}`;
        let rows = partitions.get(key);
        if (!rows) partitions.set(key, rows = []);
        rows.push(m);
        maxSeq.set(m.conversation_id, Math.max(maxSeq.get(m.conversation_id) ?? 0, m.seq));
      }
      const batches: Array<Array<{ query: string; params: unknown[] }>> = [];
      for (const rows of partitions.values()) {
        for (let i = 0; i < rows.length; i += BATCH_ROWS) {
          const chunk = rows.slice(i, i + BATCH_ROWS);
          const ts = (m: StoredMessage) => long(TIMESTAMP_BASE - m.position);
          batches.push(chunk.map((m) => ({
            query: cql.insertMessage,
            params: [m.conversation_id, bucketOf(m.seq), long(m.seq), m.message_id, m.sender_id, m.client_msg_id, m.content,
              m.content_type, long(m.timestamp), long(m.position), ts(m)],
          })));
          batches.push(chunk.map((m) => ({
            query: cql.insertPosition,
            params: [m.conversation_id, bucketOf(m.seq), long(m.position), long(m.seq), ts(m)],
          })));
        }
      }
      await mapLimit(batches, concurrency, (batch) => batch.length === 1
        ? client.execute(batch[0]!.query, batch[0]!.params, write)
        : client.batch(batch, write));
      await mapLimit([...maxSeq], concurrency, ([conversationId, seq]) =>
        client.execute(cql.insertLastSeq, [conversationId, long(seq), long(seq)], write));
    },

    async page(conversationId, { before, after, limit }: HistoryPage) {
      if (limit <= 0) return [];
      if (after !== undefined) {
        // Forward pages start at the bucket of after+1; the last seq only bounds the walk.
        const newest = await lastSeq(conversationId);
        if (newest === null) return [];
        return range(conversationId, after + 1, Math.min(before !== undefined ? before - 1 : newest, newest), limit, 'asc');
      }
      const newest = await lastSeq(conversationId);
      if (newest === null) return [];
      return range(conversationId, 1, Math.min(before !== undefined ? before - 1 : newest, newest), limit, 'desc');
    },

    async afterPosition(conversationId, after, upTo, limit) {
      if (upTo <= after || limit <= 0) return [];
      const newestSeq = await lastSeq(conversationId);
      if (newestSeq === null) return [];
      const newest = bucketOf(newestSeq);
      const start = await startBucket(conversationId, after, newest);
      const out: StoredMessage[] = [];
      for (let b = start; b <= newest && out.length < limit; b++) {
        let cursor = after;
        let sawAny = false;
        for (;;) {
          const want = limit - out.length;
          const index = (await client.execute(cql.positions, [conversationId, b, long(cursor), long(upTo), want], read)).rows
            .map((r) => ({ position: toNumber(r.get('position')), seq: toNumber(r.get('seq')) }));
          if (index.length === 0) break;
          sawAny = true;
          const seqs = index.map((e) => e.seq);
          const [minSeq, maxSeq] = [Math.min(...seqs), Math.max(...seqs)];
          const rows = await range(conversationId, minSeq, maxSeq, maxSeq - minSeq + 1, 'asc');
          const bySeq = new Map(rows.map((m) => [m.seq, m]));
          // An index entry left by a conflicting replay points at a row that kept another position: skip it.
          for (const e of index) {
            const m = bySeq.get(e.seq);
            if (m && m.position === e.position) out.push(m);
          }
          cursor = index[index.length - 1]!.position;
          if (index.length < want || out.length >= limit) break;
        }
        // Past the start bucket every position is above `after`: an empty bucket means all are above upTo.
        if (!sawAny && b > start) break;
      }
      return out;
    },

    async reset() {
      for (const table of [messages, positions, lastSeqs]) await client.execute(`TRUNCATE ${table}`, [], { prepare: false });
    },
  };
};
