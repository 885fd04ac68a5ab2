import type { HistoryWrite } from '../../ports/read-models.ts';
import { bucketOf, changeTimestamp, deleteTimestamp, insertTimestamp, long, POSITION_LIMIT, type HistoryContext } from './history-rows.ts';

type Statement = { query: string; params: unknown[] };
type Change = Exclude<HistoryWrite, { op: 'message' } | { op: 'expire' }>;
type Expire = Extract<HistoryWrite, { op: 'expire' }>;

/** Rows per single-partition unlogged batch (one mutation, so not subject to batch size limits). */
const BATCH_ROWS = 100;
const writeOptions = { prepare: true, isIdempotent: true, logged: false } as const;

const mapLimit = async <T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/**
 * Statements grouped by partition, each group sent as single-partition unlogged batches. The tables
 * of a conversation's seq bucket share its partition key, as do the two keyed by the conversation
 * alone, so a message and its position are one mutation, one request (and its reply entry with
 * them, when the parent is in the same bucket).
 */
const partitions = () => {
  const groups = new Map<string, Statement[]>();
  return {
    add(partition: string, query: string, params: unknown[]) {
      let group = groups.get(partition);
      if (!group) groups.set(partition, (group = []));
      group.push({ query, params });
    },
    batches(): Statement[][] {
      const out: Statement[][] = [];
      for (const group of groups.values()) for (let i = 0; i < group.length; i += BATCH_ROWS) out.push(group.slice(i, i + BATCH_ROWS));
      return out;
    },
  };
};

/**
 * write(): LWT-free and idempotent, every cell `USING TIMESTAMP` derived from its op's position
 * (see migrations.ts), so statements may land in any order and a replay lands as the same cells.
 * Within one call only the latest op per (message, kind) and per reaction is written: the others
 * would lose to it anyway, and a rebuild's big batches write one change index entry per message.
 *
 * Two rounds: first the messages, their position and reply entries, the changes and reactions;
 * then the last seq and the change index, so neither points at rows that are not there yet. A
 * call that fails half-way is retried by the projector runtime with the same ops.
 */
export const historyWriter = (ctx: HistoryContext, concurrency: number) => {
  const t = ctx.tables;
  const where = 'WHERE conversation_id = ? AND bucket = ? AND seq = ?';
  const cql = {
    message: `INSERT INTO ${t.messages} (conversation_id, bucket, seq, message_id, sender_id, client_msg_id, content, content_type,
      timestamp, position, reply_to_seq, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
    position: `INSERT INTO ${t.message_positions} (conversation_id, bucket, position, seq) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
    reply: `INSERT INTO ${t.message_replies} (conversation_id, bucket, parent_seq, seq) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
    edit: `UPDATE ${t.messages} USING TIMESTAMP ? SET content = ?, edited_at = ? ${where}`,
    // The text and mentions are overwritten, not flagged: a deleted message's words leave the table.
    remove: `UPDATE ${t.messages} USING TIMESTAMP ? SET content = '', mentions = [], deleted = true ${where}`,
    updated: `UPDATE ${t.messages} USING TIMESTAMP ? SET updated_position = ? ${where}`,
    reaction: `INSERT INTO ${t.message_reactions} (conversation_id, bucket, seq, emoji, user_id, present, position)
      VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
    change: `INSERT INTO ${t.message_updates} (conversation_id, position, seq) VALUES (?, ?, ?) USING TIMESTAMP ?`,
    lastSeq: `INSERT INTO ${t.conversation_last_seq} (conversation_id, last_seq) VALUES (?, ?) USING TIMESTAMP ?`,
    // Retention: range deletes by seq; the position and change indexes keep stale entries, which reads skip (their row is gone).
    expireMessages: `DELETE FROM ${t.messages} USING TIMESTAMP ? WHERE conversation_id = ? AND bucket = ? AND seq <= ?`,
    expireReactions: `DELETE FROM ${t.message_reactions} USING TIMESTAMP ? WHERE conversation_id = ? AND bucket = ? AND seq <= ?`,
    expireReplies: `DELETE FROM ${t.message_replies} USING TIMESTAMP ? WHERE conversation_id = ? AND bucket = ? AND parent_seq <= ?`,
  };
  const run = (batches: Statement[][]) =>
    mapLimit(batches, concurrency, (batch) =>
      batch.length === 1 ? ctx.client.execute(batch[0]!.query, batch[0]!.params, writeOptions) : ctx.client.batch(batch, writeOptions),
    );

  // A message without a parent or mentions leaves those columns unset (undefined), not null: a
  // null is a tombstone, one per message that every page read would scan. The price: a conflicting
  // replay (another MessageSent for the same seq, which the decider never appends) could add them.
  return async (ops: HistoryWrite[]) => {
    if (ops.length === 0) return;
    const [first, then] = [partitions(), partitions()];
    const lastSeq = new Map<string, number>();
    const latest = new Map<string, Change>();
    const updated = new Map<string, { conversation_id: string; seq: number; position: number }>();
    const expired = new Map<string, Expire>();
    for (const op of ops) {
      const position = op.op === 'message' ? op.message.position : op.position;
      if (!(Number.isSafeInteger(position) && position >= 0 && position < POSITION_LIMIT)) throw new Error(`position ${position} out of range`);
      if (op.op === 'message') {
        const m = op.message;
        const [bucket, ts] = [bucketOf(ctx, m.seq), insertTimestamp(m.position)];
        const partition = `${m.conversation_id}\u0000${bucket}`;
        first.add(partition, cql.message, [
          m.conversation_id,
          bucket,
          long(m.seq),
          m.message_id,
          m.sender_id,
          m.client_msg_id,
          m.content,
          m.content_type,
          long(m.timestamp),
          long(m.position),
          m.reply_to_seq === null ? undefined : long(m.reply_to_seq),
          m.mentions.length > 0 ? m.mentions : undefined,
          ts,
        ]);
        first.add(partition, cql.position, [m.conversation_id, bucket, long(m.position), long(m.seq), ts]);
        if (m.reply_to_seq !== null) {
          const parentBucket = bucketOf(ctx, m.reply_to_seq);
          first.add(`${m.conversation_id}\u0000${parentBucket}`, cql.reply, [m.conversation_id, parentBucket, long(m.reply_to_seq), long(m.seq), ts]);
        }
        lastSeq.set(m.conversation_id, Math.max(lastSeq.get(m.conversation_id) ?? 0, m.seq));
        continue;
      }
      if (op.op === 'expire') {
        if ((expired.get(op.conversation_id)?.up_to_seq ?? 0) < op.up_to_seq) expired.set(op.conversation_id, op);
        continue;
      }
      const message = `${op.conversation_id}\u0000${op.seq}`;
      const key = op.op === 'reaction' ? `${message}\u0000reaction\u0000${op.emoji}\u0000${op.user_id}` : `${message}\u0000${op.op}`;
      if ((latest.get(key)?.position ?? -1) < position) latest.set(key, op);
      if ((updated.get(message)?.position ?? -1) < position) updated.set(message, { conversation_id: op.conversation_id, seq: op.seq, position });
    }
    for (const op of latest.values()) {
      const bucket = bucketOf(ctx, op.seq);
      const [partition, key] = [`${op.conversation_id}\u0000${bucket}`, [op.conversation_id, bucket, long(op.seq)]];
      if (op.op === 'edit') first.add(partition, cql.edit, [changeTimestamp(op.position), op.content, long(op.edited_at), ...key]);
      else if (op.op === 'delete') first.add(partition, cql.remove, [deleteTimestamp(op.position), ...key]);
      else first.add(partition, cql.reaction, [...key, op.emoji, op.user_id, op.present, long(op.position), changeTimestamp(op.position)]);
    }
    for (const u of updated.values()) {
      const bucket = bucketOf(ctx, u.seq);
      const ts = changeTimestamp(u.position);
      first.add(`${u.conversation_id}\u0000${bucket}`, cql.updated, [ts, long(u.position), u.conversation_id, bucket, long(u.seq)]);
      then.add(u.conversation_id, cql.change, [u.conversation_id, long(u.position), long(u.seq), ts]);
    }
    for (const [conversationId, seq] of lastSeq) then.add(conversationId, cql.lastSeq, [conversationId, long(seq), long(seq)]);
    // Expiry goes last, with the strongest timestamps: what it removes stays removed, whatever lands later.
    for (const e of expired.values()) {
      const ts = deleteTimestamp(e.position);
      for (let bucket = 0; bucket <= bucketOf(ctx, e.up_to_seq); bucket++) {
        const partition = `${e.conversation_id}\u0000${bucket}`;
        then.add(partition, cql.expireMessages, [ts, e.conversation_id, bucket, long(e.up_to_seq)]);
        then.add(partition, cql.expireReactions, [ts, e.conversation_id, bucket, long(e.up_to_seq)]);
        then.add(partition, cql.expireReplies, [ts, e.conversation_id, bucket, long(e.up_to_seq)]);
      }
    }
    await run(first.batches());
    await run(then.batches());
  };
};
