import type { InboxStore, InboxWrite } from '../../ports/read-models.ts';
import type { MessageSent } from '../../contracts/events.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';
import type { OpenedContent } from '../../ports/content-keys.ts';

export const PREVIEW_LENGTH = 100;

// Previews never leak what the client cannot render as text. Sealed text is stored sealed, whole
// (resealing a cut would need the key here): readers open it and cut it (adapters/crypto).
const preview = (content: string, contentType: string, sealed?: string) =>
  contentType === 'text' ? (sealed ?? content.slice(0, PREVIEW_LENGTH)) : contentType === 'media' ? '[media]' : '[encrypted message]';

/**
 * The inbox writes of a batch. Within a run of messages and reads (no conversation or membership
 * event in between), only the highest-seq message of each conversation and the highest read of each
 * member change anything: messages apply only forward, reads merge with max(), and neither reads
 * what the other writes. So a batch that busy conversations fill (live under load, a catch-up, a
 * rebuild) costs one write per conversation and member instead of two per message. Conversation and
 * membership events are barriers: a join reads last_seq, so the messages before it are written first.
 */
export const inboxOps = (events: Recorded[]): InboxWrite[] => {
  const ops: InboxWrite[] = [];
  const messages = new Map<string, { data: MessageSent; position: number }>();
  const touched = new Map<string, number>();
  const reads = new Map<string, Map<string, number>>();
  const read = (conversationId: string, userId: string, seq: number) => {
    let users = reads.get(conversationId);
    if (!users) reads.set(conversationId, (users = new Map()));
    const seen = users.get(userId);
    if (seen === undefined || seq > seen) users.set(userId, seq);
  };
  const flush = () => {
    for (const [conversation_id, { data: e, position }] of messages) {
      ops.push({
        op: 'message',
        conversation_id,
        position,
        last_message: {
          message_id: e.message_id,
          seq: e.seq,
          sender_id: e.sender_id,
          preview: preview(e.content, e.content_type, (e as OpenedContent).sealed),
          timestamp: e.timestamp,
        },
      });
    }
    for (const [conversation_id, users] of reads) for (const [user_id, read_seq] of users) ops.push({ op: 'read', user_id, conversation_id, read_seq });
    for (const [conversation_id, position] of touched) ops.push({ op: 'touch', conversation_id, position });
    messages.clear();
    reads.clear();
    touched.clear();
  };
  for (const event of events) {
    switch (event.type) {
      case 'ConversationCreated': {
        flush();
        const e = event.data;
        ops.push({ op: 'conversation', conversation_id: e.conversation_id, kind: e.kind, title: e.title, timestamp: e.timestamp });
        for (const user_id of e.member_ids)
          ops.push({ op: 'join', user_id, conversation_id: e.conversation_id, timestamp: e.timestamp, position: event.position });
        break;
      }
      case 'MembersAdded':
        flush();
        for (const user_id of event.data.user_ids) {
          ops.push({ op: 'join', user_id, conversation_id: event.data.conversation_id, timestamp: event.data.timestamp, position: event.position });
        }
        break;
      case 'MemberRemoved':
        flush();
        ops.push({ op: 'leave', user_id: event.data.user_id, conversation_id: event.data.conversation_id, position: event.position });
        break;
      case 'MessageSent': {
        const e = event.data;
        const kept = messages.get(e.conversation_id);
        if (!kept || e.seq > kept.data.seq) messages.set(e.conversation_id, { data: e, position: event.position });
        // Sending means having seen the conversation up to one's own message.
        read(e.conversation_id, e.sender_id, e.seq);
        const mentioned = (e.mentions ?? []).filter((userId) => userId !== e.sender_id);
        if (mentioned.length > 0) ops.push({ op: 'mentions', conversation_id: e.conversation_id, seq: e.seq, user_ids: mentioned });
        break;
      }
      // An edit or delete may change the preview of the last message, which the pending message op
      // of this run may not have written yet: it goes after it.
      case 'MessageEdited': {
        flush();
        const e = event.data;
        ops.push({
          op: 'change',
          conversation_id: e.conversation_id,
          seq: e.seq,
          preview: preview(e.content, e.content_type, (e as OpenedContent).sealed),
          deleted: false,
          position: event.position,
        });
        break;
      }
      case 'MessageDeleted':
        flush();
        ops.push({ op: 'change', conversation_id: event.data.conversation_id, seq: event.data.seq, preview: '', deleted: true, position: event.position });
        break;
      case 'ReactionAdded':
      case 'ReactionRemoved':
        touched.set(event.data.conversation_id, event.position);
        break;
      // Retention: the preview of an expired last message goes; a barrier, like a delete.
      case 'MessagesExpired':
        flush();
        ops.push({ op: 'expire', conversation_id: event.data.conversation_id, up_to_seq: event.data.up_to_seq, position: event.position });
        break;
      case 'ConversationRenamed':
        ops.push({ op: 'title', conversation_id: event.data.conversation_id, title: event.data.title, position: event.position });
        break;
      case 'ConversationMuted':
      case 'ConversationUnmuted': {
        const e = event.data;
        ops.push({
          op: 'mute',
          user_id: e.user_id,
          conversation_id: e.conversation_id,
          muted: event.type === 'ConversationMuted',
          until: event.type === 'ConversationMuted' ? event.data.until : null,
          position: event.position,
        });
        break;
      }
      case 'MessageRead':
        read(event.data.conversation_id, event.data.user_id, event.data.up_to_seq);
        break;
    }
  }
  flush();
  return ops;
};

export const inboxProjector = (store: InboxStore): Projector => ({
  name: 'inbox',
  handle: (events) => store.write(inboxOps(events)),
  reset: () => store.reset(),
});
