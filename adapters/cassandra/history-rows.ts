import cassandra from 'cassandra-driver';
import type { StoredMessage } from '../../ports/read-models.ts';
import type { ContentType } from '../../contracts/primitives.ts';
import { historyTables } from './migrations.ts';

/*
 * What the history store's modules share: the tables, the write timestamps and the row mapping.
 * The timestamp layout and why is in migrations.ts.
 */

const TIMESTAMP_BASE = 2 ** 50;
/** Every position must stay below this: changes are stacked in two bands of 2^49 above the inserts. */
export const POSITION_LIMIT = 2 ** 49;

export const long = (n: number) => cassandra.types.Long.fromNumber(n);
/** A message as sent, and what is written with it (its position, its reply entry): the lowest position wins. */
export const insertTimestamp = (position: number) => long(TIMESTAMP_BASE - position);
/** An edit, a reaction, `updated_position` and the change index: above every insert, the highest position wins. */
export const changeTimestamp = (position: number) => long(TIMESTAMP_BASE + 1 + position);
/** A delete: above every change, so no edit rewrites the blanked text. */
export const deleteTimestamp = (position: number) => long(TIMESTAMP_BASE + 1 + POSITION_LIMIT + position);

export const toNumber = (value: unknown): number => {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as cassandra.types.Long).toNumber();
  throw new Error(`not a number: ${String(value)}`);
};

export type HistoryTable = (typeof historyTables)[number];

/** One store's view of its keyspace: qualified table names of its version, and the bucket size. */
export type HistoryContext = {
  client: cassandra.Client;
  tables: Record<HistoryTable, string>;
  bucketSize: number;
};

export const historyContext = (client: cassandra.Client, ks: string, suffix: string, bucketSize: number): HistoryContext => ({
  client,
  bucketSize,
  tables: Object.fromEntries(historyTables.map((t) => [t, `${ks}.${t}${suffix}`])) as Record<HistoryTable, string>,
});

export const bucketOf = (ctx: HistoryContext, seq: number) => Math.floor(seq / ctx.bucketSize);

export const readOptions = { prepare: true, isIdempotent: true } as const;

/** Every row of a query, following the driver's pages (a reaction read may exceed one page). */
export const allRows = async (ctx: HistoryContext, query: string, params: unknown[]): Promise<cassandra.types.Row[]> => {
  const out: cassandra.types.Row[] = [];
  let pageState: string | undefined;
  do {
    const result = await ctx.client.execute(query, params, { ...readOptions, fetchSize: 5_000, ...(pageState ? { pageState } : {}) });
    out.push(...result.rows);
    pageState = result.pageState ?? undefined;
  } while (pageState);
  return out;
};

/** A message row before its reactions and replies are added. */
export type MessageRow = Omit<StoredMessage, 'reactions' | 'reply_count'>;

export const messageColumns = `conversation_id, seq, message_id, sender_id, client_msg_id, content, content_type, timestamp, position,
  reply_to_seq, mentions, edited_at, deleted, updated_position`;

/** The row as history shows it, or null for a row that only a change wrote so far (its message is not in yet). */
export const toMessageRow = (row: cassandra.types.Row): MessageRow | null => {
  if (row.get('message_id') == null) return null;
  const position = toNumber(row.get('position'));
  const replyTo = row.get('reply_to_seq');
  const editedAt = row.get('edited_at');
  const updated = row.get('updated_position');
  return {
    conversation_id: row.get('conversation_id'),
    seq: toNumber(row.get('seq')),
    message_id: row.get('message_id'),
    sender_id: row.get('sender_id'),
    client_msg_id: row.get('client_msg_id'),
    content: row.get('content'),
    content_type: row.get('content_type') as ContentType,
    timestamp: toNumber(row.get('timestamp')),
    position,
    reply_to_seq: replyTo === null ? null : toNumber(replyTo),
    // An empty frozen list reads as null (a delete writes one).
    mentions: (row.get('mentions') as string[] | null) ?? [],
    edited_at: editedAt === null ? null : toNumber(editedAt),
    deleted: row.get('deleted') === true,
    updated_position: updated === null ? position : Math.max(position, toNumber(updated)),
  };
};
