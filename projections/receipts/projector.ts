import type { ReceiptStore, ReceiptWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../runtime.ts';

export const receiptOps = (events: Recorded[]): ReceiptWrite[] => events.flatMap((event): ReceiptWrite[] => {
  if (event.type === 'MessageDelivered') {
    return [{ conversation_id: event.data.conversation_id, user_id: event.data.user_id, delivered_seq: event.data.up_to_seq, read_seq: 0 }];
  }
  if (event.type === 'MessageRead') {
    const { conversation_id, user_id, up_to_seq } = event.data;
    return [{ conversation_id, user_id, delivered_seq: up_to_seq, read_seq: up_to_seq }];
  }
  return [];
});

export const receiptsProjector = (store: ReceiptStore): Projector => ({
  name: 'receipts',
  handle: (events) => store.write(receiptOps(events)),
  reset: () => store.reset(),
});
