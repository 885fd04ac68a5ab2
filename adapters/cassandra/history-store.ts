import type cassandra from 'cassandra-driver';
import type { HistoryPage, HistoryStore } from '../../ports/read-models.ts';
import { checkKeyspace } from './client.ts';
import { historyTableSuffix } from './history-versions.ts';
import { historyContext } from './history-rows.ts';
import { historyWriter } from './history-writes.ts';
import { historyReader } from './history-reads.ts';
import { historySync } from './history-sync.ts';
import { reportedAs } from './unreachable.ts';

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
  /** The read model's version: 1 (default) is the tables of the migrations, N their `_v<N>` copies (history-versions.ts). */
  version?: number;
};

export const DEFAULT_BUCKET_SIZE = 10_000;

/**
 * Message history in Cassandra, partitioned by (conversation_id, seq bucket); see migrations.ts for
 * the layout and why. The tables:
 * - `messages`: the rows as they are now (edits applied, deletes blanked), clustering by seq
 *   (descending: "newest page" is the common read);
 * - `message_positions`: (conversation_id, bucket) → position → seq, for sync (`afterPosition`);
 * - `conversation_last_seq`: the highest seq per conversation, a max kept by write timestamps, so
 *   the newest page starts in the right bucket without scanning;
 * - `message_reactions` and `message_replies`: per seq bucket, read for a page's messages at once;
 * - `message_updates`: conversation → position of a change → seq, for sync (`changedAfter`).
 *
 * Writes (history-writes.ts) are LWT-free and idempotent whatever order they land in; reads
 * (history-reads.ts, history-sync.ts) cost a constant number of queries per seq bucket they touch.
 */
export const createCassandraHistoryStore = (options: CassandraHistoryOptions): HistoryStore => {
  const { client } = options;
  const ks = checkKeyspace(options.keyspace);
  const B = options.bucketSize ?? DEFAULT_BUCKET_SIZE;
  if (!Number.isInteger(B) || B < 1) throw new Error(`bucketSize must be a positive integer, got ${B}`);
  const ctx = historyContext(client, ks, historyTableSuffix(options.version), B);
  const write = historyWriter(ctx, options.concurrency ?? 128);
  const reads = historyReader(ctx);
  const sync = historySync(ctx, reads);
  const reported = reportedAs('history');
  const unreachable = (error: unknown): never => {
    throw reported(error);
  };

  const page = async (conversationId: string, { before, after, limit }: HistoryPage) => {
    if (limit <= 0) return [];
    // The last seq bounds the walk: forward pages start at the bucket of after+1, the others at the newest.
    const newest = await reads.lastSeq(conversationId);
    if (newest === null) return [];
    const hi = Math.min(before !== undefined ? before - 1 : newest, newest);
    const rows = after !== undefined ? await reads.range(conversationId, after + 1, hi, limit, 'asc') : await reads.range(conversationId, 1, hi, limit, 'desc');
    return reads.decorate(conversationId, rows);
  };

  // Reads answer 503 while Cassandra is out of reach; writes (the projector's) fail the batch, which is retried.
  return {
    write,
    page: (conversationId, request) => page(conversationId, request).catch(unreachable),
    afterPosition: (conversationId, after, upTo, limit) => sync.afterPosition(conversationId, after, upTo, limit).catch(unreachable),
    changedAfter: (conversationId, after, upTo, limit) => sync.changedAfter(conversationId, after, upTo, limit).catch(unreachable),
    replies: (conversationId, parentSeq, { after, limit }) => reads.replies(conversationId, parentSeq, after, limit).catch(unreachable),

    async reset() {
      for (const table of Object.values(ctx.tables)) await client.execute(`TRUNCATE ${table}`, [], { prepare: false });
    },
  };
};
