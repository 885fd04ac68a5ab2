import type { Outbound } from '../ports/delivery.ts';
import type { HistoryStore } from '../ports/read-models.ts';
import { toMessage } from '../query-side/messages.ts';

/** At most this many messages are read to close one gap; a wider one is left to the client's sync. */
const MAX_FILL = 500;

/**
 * Where a connection looks for messages that did not arrive live in time (live-order.ts): history,
 * which the projectors write before they fan a message out, so a message found there was on its way.
 * Each comes as `sync` would send it, with a cursor no higher than what the read models have applied.
 */
export const historyGapFill =
  (history: Pick<HistoryStore, 'page'>, appliedPosition: () => number) =>
  async (conversationId: string, afterSeq: number, beforeSeq: number): Promise<Outbound[]> => {
    const limit = Math.min(MAX_FILL, beforeSeq - afterSeq - 1);
    if (limit <= 0) return [];
    const rows = await history.page(conversationId, { after: afterSeq, before: beforeSeq, limit });
    return rows.map(
      (row): Outbound => ({
        kind: 'message',
        position: row.position,
        conversation: conversationId,
        seq: row.seq,
        isNew: true,
        json: JSON.stringify({ type: 'new_message', ...toMessage(row), cursor: String(Math.min(row.position, appliedPosition())) }),
      }),
    );
  };
