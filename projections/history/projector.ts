import type { HistoryStore, HistoryWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';
import type { OpenedContent } from '../../ports/content-keys.ts';

/** The content history stores: sealed when the log holds it sealed (a destroyed key erases it here too). */
const storedContent = (data: { content: string } & OpenedContent) => data.sealed ?? data.content;

/** Every field of a message but the sender's device, which history does not show; then its edits, deletes and reactions. Content stays as the log holds it (sealed). */
export const historyOps = (events: Recorded[]): HistoryWrite[] => {
  const ops: HistoryWrite[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'MessageSent': {
        const m = event.data;
        ops.push({
          op: 'message',
          message: {
            conversation_id: m.conversation_id,
            seq: m.seq,
            message_id: m.message_id,
            sender_id: m.sender_id,
            client_msg_id: m.client_msg_id,
            content: storedContent(m),
            content_type: m.content_type,
            timestamp: m.timestamp,
            position: event.position,
            reply_to_seq: m.reply_to_seq ?? null,
            mentions: m.mentions ?? [],
          },
        });
        break;
      }
      case 'MessageEdited': {
        const e = event.data;
        ops.push({ op: 'edit', conversation_id: e.conversation_id, seq: e.seq, content: storedContent(e), edited_at: e.timestamp, position: event.position });
        break;
      }
      case 'MessageDeleted':
        ops.push({ op: 'delete', conversation_id: event.data.conversation_id, seq: event.data.seq, position: event.position });
        break;
      case 'MessagesExpired':
        ops.push({ op: 'expire', conversation_id: event.data.conversation_id, up_to_seq: event.data.up_to_seq, position: event.position });
        break;
      case 'ReactionAdded':
      case 'ReactionRemoved': {
        const e = event.data;
        ops.push({
          op: 'reaction',
          conversation_id: e.conversation_id,
          seq: e.seq,
          emoji: e.emoji,
          user_id: e.user_id,
          present: event.type === 'ReactionAdded',
          position: event.position,
        });
        break;
      }
    }
  }
  return ops;
};

export const historyProjector = (store: HistoryStore): Projector => ({
  name: 'history',
  handle: (events) => store.write(historyOps(events)),
  reset: () => store.reset(),
});
