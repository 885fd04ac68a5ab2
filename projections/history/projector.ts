import type { HistoryStore, StoredMessage } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';

/** Every field but the sender's device, which history does not show. */
export const historyRows = (events: Recorded[]): StoredMessage[] => {
  const rows: StoredMessage[] = [];
  for (const event of events) {
    if (event.type !== 'MessageSent') continue;
    const m = event.data;
    rows.push({
      conversation_id: m.conversation_id, seq: m.seq, message_id: m.message_id, sender_id: m.sender_id, client_msg_id: m.client_msg_id,
      content: m.content, content_type: m.content_type, timestamp: m.timestamp, position: event.position,
    });
  }
  return rows;
};

export const historyProjector = (store: HistoryStore): Projector => ({
  name: 'history',
  handle: (events) => store.write(historyRows(events)),
  reset: () => store.reset(),
});
