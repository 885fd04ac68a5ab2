import type { ReceiptStore, ReceiptWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';

/** Watermarks merge with max() in any order, so a batch needs one write per conversation and member. */
export const receiptOps = (events: Recorded[]): ReceiptWrite[] => {
  const kept = new Map<string, ReceiptWrite>();
  const merge = (conversation_id: string, user_id: string, delivered_seq: number, read_seq: number) => {
    const key = `${conversation_id}\u0000${user_id}`;
    const seen = kept.get(key);
    if (!seen) kept.set(key, { conversation_id, user_id, delivered_seq, read_seq });
    else {
      seen.delivered_seq = Math.max(seen.delivered_seq, delivered_seq);
      seen.read_seq = Math.max(seen.read_seq, read_seq);
    }
  };
  for (const event of events) {
    if (event.type === 'MessageDelivered') merge(event.data.conversation_id, event.data.user_id, event.data.up_to_seq, 0);
    else if (event.type === 'MessageRead') merge(event.data.conversation_id, event.data.user_id, event.data.up_to_seq, event.data.up_to_seq);
  }
  return [...kept.values()];
};

export const receiptsProjector = (store: ReceiptStore): Projector => ({
  name: 'receipts',
  handle: (events) => store.write(receiptOps(events)),
  reset: () => store.reset(),
});
