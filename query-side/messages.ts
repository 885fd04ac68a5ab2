import type { Message } from '../contracts/rest.ts';
import type { MessageUpdatedFrame } from '../contracts/frames.ts';
import type { StoredMessage } from '../ports/read-models.ts';

export const toMessage = ({ position, updated_position: _, erased, unavailable, ...message }: StoredMessage): Message => ({
  ...message,
  erased: erased ?? false,
  ...(unavailable ? { unavailable } : {}),
  cursor: String(position),
});

/** A changed message as sync sends it: its whole state now, at the position of its last change. */
export const toUpdate = (m: StoredMessage): MessageUpdatedFrame => ({
  type: 'message_updated',
  conversation_id: m.conversation_id,
  seq: m.seq,
  content: m.content,
  edited_at: m.edited_at,
  deleted: m.deleted,
  ...(m.erased ? { erased: true } : {}),
  reactions: m.reactions,
  reply_count: m.reply_count,
  cursor: String(m.updated_position),
});
