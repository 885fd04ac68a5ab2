import type { InboxStore, InboxWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../runtime.ts';

export const PREVIEW_LENGTH = 100;

// Previews never leak what the client cannot render as text.
const preview = (content: string, contentType: string) =>
  contentType === 'text' ? content.slice(0, PREVIEW_LENGTH) : contentType === 'media' ? '[media]' : '[encrypted message]';

export const inboxOps = (events: Recorded[]): InboxWrite[] => events.flatMap((event): InboxWrite[] => {
  switch (event.type) {
    case 'ConversationCreated': {
      const e = event.data;
      return [
        { op: 'conversation', conversation_id: e.conversation_id, kind: e.kind, title: e.title, timestamp: e.timestamp },
        ...e.member_ids.map((user_id): InboxWrite => ({ op: 'join', user_id, conversation_id: e.conversation_id, timestamp: e.timestamp, position: event.position })),
      ];
    }
    case 'MembersAdded':
      return event.data.user_ids.map((user_id) => ({ op: 'join', user_id, conversation_id: event.data.conversation_id, timestamp: event.data.timestamp, position: event.position }));
    case 'MemberRemoved':
      return [{ op: 'leave', user_id: event.data.user_id, conversation_id: event.data.conversation_id, position: event.position }];
    case 'MessageSent': {
      const e = event.data;
      return [
        { op: 'message', conversation_id: e.conversation_id, position: event.position, last_message: {
          message_id: e.message_id, seq: e.seq, sender_id: e.sender_id, preview: preview(e.content, e.content_type), timestamp: e.timestamp,
        } },
        // Sending means having seen the conversation up to one's own message.
        { op: 'read', user_id: e.sender_id, conversation_id: e.conversation_id, read_seq: e.seq },
      ];
    }
    case 'MessageRead':
      return [{ op: 'read', user_id: event.data.user_id, conversation_id: event.data.conversation_id, read_seq: event.data.up_to_seq }];
    default: return [];
  }
});

export const inboxProjector = (store: InboxStore): Projector => ({
  name: 'inbox',
  handle: (events) => store.write(inboxOps(events)),
  reset: () => store.reset(),
});
