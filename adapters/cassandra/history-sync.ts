import type { StoredMessage } from '../../ports/read-models.ts';
import { bucketOf, long, readOptions, toNumber, type HistoryContext, type MessageRow } from './history-rows.ts';
import type { HistoryReader } from './history-reads.ts';

/** Index entries read per round trip by changedAfter: more than asked, as stale entries are skipped. */
const CHANGES_READ_AHEAD = 100;

/**
 * What sync reads, by log position: the messages sent after a cursor (`afterPosition`, from the
 * position index in each seq bucket) and the older messages changed after it (`changedAfter`,
 * from the change index). Both indexes may hold stale entries, which are skipped by comparing
 * them with the message row.
 */
export const historySync = (ctx: HistoryContext, reads: HistoryReader) => {
  const { client, tables: t } = ctx;
  const cql = {
    firstPosition: `SELECT position FROM ${t.message_positions} WHERE conversation_id = ? AND bucket = ? ORDER BY position ASC LIMIT 1`,
    positions: `SELECT position, seq FROM ${t.message_positions} WHERE conversation_id = ? AND bucket = ? AND position > ? AND position <= ?
      ORDER BY position ASC LIMIT ?`,
    changes: `SELECT position, seq FROM ${t.message_updates} WHERE conversation_id = ? AND position > ? AND position <= ? ORDER BY position ASC LIMIT ?`,
  };
  const entries = async (query: string, params: unknown[]) =>
    (await client.execute(query, params, readOptions)).rows.map((r) => ({ position: toNumber(r.get('position')), seq: toNumber(r.get('seq')) }));

  const firstPosition = async (conversationId: string, bucket: number): Promise<number | null> => {
    const row = (await client.execute(cql.firstPosition, [conversationId, bucket], readOptions)).first();
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
      if (p !== null && p <= after) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };

  const afterPosition = async (conversationId: string, after: number, upTo: number, limit: number): Promise<StoredMessage[]> => {
    if (upTo <= after || limit <= 0) return [];
    const newestSeq = await reads.lastSeq(conversationId);
    if (newestSeq === null) return [];
    const newest = bucketOf(ctx, newestSeq);
    const start = await startBucket(conversationId, after, newest);
    const out: MessageRow[] = [];
    for (let b = start; b <= newest && out.length < limit; b++) {
      let cursor = after;
      let sawAny = false;
      for (;;) {
        const want = limit - out.length;
        const index = await entries(cql.positions, [conversationId, b, long(cursor), long(upTo), want]);
        if (index.length === 0) break;
        sawAny = true;
        const rows = await reads.bySeqs(
          conversationId,
          index.map((e) => e.seq),
        );
        // An index entry left by a conflicting replay points at a row that kept another position: skip it.
        for (const e of index) {
          const m = rows.get(e.seq);
          if (m && m.position === e.position) out.push(m);
        }
        cursor = index.at(-1)!.position;
        if (index.length < want || out.length >= limit) break;
      }
      // Past the start bucket every position is above `after`: an empty bucket means all are above upTo.
      if (!sawAny && b > start) break;
    }
    return reads.decorate(conversationId, out);
  };

  /**
   * An entry counts only if it is its message's last change (`updated_position`): a message
   * changed five times in five batches has five entries and is sent once, at the last.
   */
  const changedAfter = async (conversationId: string, after: number, upTo: number, limit: number): Promise<StoredMessage[]> => {
    if (upTo <= after || limit <= 0) return [];
    const out: MessageRow[] = [];
    for (let cursor = after; out.length < limit; ) {
      const want = Math.max(limit - out.length, CHANGES_READ_AHEAD);
      const index = await entries(cql.changes, [conversationId, long(cursor), long(upTo), want]);
      if (index.length === 0) break;
      const rows = await reads.bySeqs(
        conversationId,
        index.map((e) => e.seq),
      );
      for (const e of index) {
        const m = rows.get(e.seq);
        if (m && m.position <= after && m.updated_position === e.position && out.length < limit) out.push(m);
      }
      if (index.length < want) break;
      cursor = index.at(-1)!.position;
    }
    return reads.decorate(conversationId, out);
  };

  return { afterPosition, changedAfter };
};
