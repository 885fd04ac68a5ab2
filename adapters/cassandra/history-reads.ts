import type { ReactionSummary, StoredMessage } from '../../ports/read-models.ts';
import { REACTION_USER_IDS_SHOWN } from '../../contracts/reactions.ts';
import { allRows, bucketOf, long, messageColumns, readOptions, toMessageRow, toNumber, type HistoryContext, type MessageRow } from './history-rows.ts';

/** Groups items by the seq bucket of each one's seq, so that every read below is one partition's. */
const byBucket = <T>(ctx: HistoryContext, items: T[], seqOf: (item: T) => number): Map<number, T[]> => {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const bucket = bucketOf(ctx, seqOf(item));
    let group = out.get(bucket);
    if (!group) out.set(bucket, (group = []));
    group.push(item);
  }
  return out;
};

type Reaction = { seq: number; emoji: string; user_id: string; position: number };

/** Present reactions summed per message and emoji: emojis in the order they first appeared, reactors by position. */
const summarize = (reactions: Reaction[], into: Map<number, ReactionSummary[]>) => {
  const sums = new Map<number, Map<string, ReactionSummary>>();
  for (const r of reactions.sort((a, b) => a.seq - b.seq || a.position - b.position)) {
    let emojis = sums.get(r.seq);
    if (!emojis) sums.set(r.seq, (emojis = new Map()));
    let sum = emojis.get(r.emoji);
    if (!sum) emojis.set(r.emoji, (sum = { emoji: r.emoji, count: 0, user_ids: [] }));
    sum.count++;
    if (sum.user_ids.length < REACTION_USER_IDS_SHOWN) sum.user_ids.push(r.user_id);
  }
  for (const [seq, emojis] of sums) into.set(seq, [...emojis.values()]);
};

/**
 * The reads every history query is built from. Each costs a constant number of queries per seq
 * bucket it touches, never one per message: rows by seq range or by `seq IN`, then the reactions
 * and reply counts of all the rows of a bucket at once (`decorate`).
 */
export const historyReader = (ctx: HistoryContext) => {
  const { client, tables: t } = ctx;
  const B = ctx.bucketSize;
  const inBucket = 'WHERE conversation_id = ? AND bucket = ?';
  const cql = {
    lastSeq: `SELECT last_seq FROM ${t.conversation_last_seq} WHERE conversation_id = ?`,
    rangeAsc: `SELECT ${messageColumns} FROM ${t.messages} ${inBucket} AND seq >= ? AND seq <= ? ORDER BY seq ASC LIMIT ?`,
    rangeDesc: `SELECT ${messageColumns} FROM ${t.messages} ${inBucket} AND seq >= ? AND seq <= ? ORDER BY seq DESC LIMIT ?`,
    bySeqs: `SELECT ${messageColumns} FROM ${t.messages} ${inBucket} AND seq IN ?`,
    reactions: `SELECT seq, emoji, user_id, present, position FROM ${t.message_reactions} ${inBucket} AND seq IN ?`,
    // Counted by Cassandra: a message with thousands of replies sends back one row, not thousands.
    replyCounts: `SELECT parent_seq, count(*) AS n FROM ${t.message_replies} ${inBucket} AND parent_seq IN ? GROUP BY parent_seq`,
    replies: `SELECT seq FROM ${t.message_replies} ${inBucket} AND parent_seq = ? AND seq > ? LIMIT ?`,
  };

  const lastSeq = async (conversationId: string): Promise<number | null> => {
    const row = (await client.execute(cql.lastSeq, [conversationId], readOptions)).first();
    return row ? toNumber(row.get('last_seq')) : null;
  };

  /** Up to `limit` messages with lo <= seq <= hi, walking buckets in the given direction; ascending result. */
  const range = async (conversationId: string, lo: number, hi: number, limit: number, direction: 'asc' | 'desc'): Promise<MessageRow[]> => {
    lo = Math.max(lo, 0);
    if (lo > hi || limit <= 0) return [];
    const out: MessageRow[] = [];
    const [first, last, step] = direction === 'asc' ? [bucketOf(ctx, lo), bucketOf(ctx, hi), 1] : [bucketOf(ctx, hi), bucketOf(ctx, lo), -1];
    const query = direction === 'asc' ? cql.rangeAsc : cql.rangeDesc;
    for (let b = first; out.length < limit && (step > 0 ? b <= last : b >= last); b += step) {
      let [from, to] = [Math.max(lo, b * B), Math.min(hi, b * B + B - 1)];
      while (from <= to && out.length < limit) {
        const want = limit - out.length;
        const rows = (await client.execute(query, [conversationId, b, long(from), long(to), want], readOptions)).rows;
        for (const row of rows) {
          const message = toMessageRow(row);
          if (message) out.push(message);
        }
        if (rows.length < want) break;
        // A row that only a change wrote took a place: read on past it.
        const seen = toNumber(rows.at(-1)!.get('seq'));
        if (direction === 'asc') from = seen + 1;
        else to = seen - 1;
      }
    }
    return direction === 'asc' ? out : out.reverse();
  };

  /** The messages among these seqs, by seq: one `IN` query per bucket. */
  const bySeqs = async (conversationId: string, seqs: number[]): Promise<Map<number, MessageRow>> => {
    const out = new Map<number, MessageRow>();
    await Promise.all(
      [...byBucket(ctx, [...new Set(seqs)], (s) => s)].map(async ([bucket, group]) => {
        for (const row of await allRows(ctx, cql.bySeqs, [conversationId, bucket, group.map(long)])) {
          const message = toMessageRow(row);
          if (message) out.set(message.seq, message);
        }
      }),
    );
    return out;
  };

  /**
   * Adds reply counts and reactions, two queries per bucket. A deleted message shows no reactions
   * (its rows stay, as the removal of an emoji does not touch the others). The count trusts the
   * reply entries: only a conflicting replay (one seq sent twice with different parents, which the
   * decider never produces) could leave one too many, which `replies` would skip.
   */
  const decorate = async (conversationId: string, rows: MessageRow[]): Promise<StoredMessage[]> => {
    const reactions = new Map<number, ReactionSummary[]>();
    const replyCounts = new Map<number, number>();
    await Promise.all(
      [...byBucket(ctx, rows, (m) => m.seq)].map(async ([bucket, group]) => {
        const live = group.filter((m) => !m.deleted).map((m) => long(m.seq));
        const [reactionRows, countRows] = await Promise.all([
          live.length > 0 ? allRows(ctx, cql.reactions, [conversationId, bucket, live]) : [],
          allRows(ctx, cql.replyCounts, [conversationId, bucket, group.map((m) => long(m.seq))]),
        ]);
        summarize(
          reactionRows
            .filter((r) => r.get('present') === true)
            .map((r) => ({
              seq: toNumber(r.get('seq')),
              emoji: r.get('emoji'),
              user_id: r.get('user_id'),
              position: toNumber(r.get('position')),
            })),
          reactions,
        );
        for (const r of countRows) replyCounts.set(toNumber(r.get('parent_seq')), toNumber(r.get('n')));
      }),
    );
    return rows.map((m) => ({ ...m, reply_count: replyCounts.get(m.seq) ?? 0, reactions: m.deleted ? [] : (reactions.get(m.seq) ?? []) }));
  };

  /** The replies to `parentSeq` above `after`: from its entries in the parent's bucket, each checked against its message. */
  const replies = async (conversationId: string, parentSeq: number, after: number, limit: number): Promise<StoredMessage[]> => {
    const bucket = bucketOf(ctx, parentSeq);
    const out: MessageRow[] = [];
    for (let cursor = after; out.length < limit; ) {
      const want = limit - out.length;
      const seqs = (await client.execute(cql.replies, [conversationId, bucket, long(parentSeq), long(cursor), want], readOptions)).rows.map((r) =>
        toNumber(r.get('seq')),
      );
      if (seqs.length === 0) break;
      const messages = await bySeqs(conversationId, seqs);
      for (const seq of seqs) {
        const m = messages.get(seq);
        if (m && m.reply_to_seq === parentSeq) out.push(m);
      }
      if (seqs.length < want) break;
      cursor = seqs.at(-1)!;
    }
    return decorate(conversationId, out);
  };

  return { lastSeq, range, bySeqs, decorate, replies };
};

export type HistoryReader = ReturnType<typeof historyReader>;
