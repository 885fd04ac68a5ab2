import type { HistoryWrite, SentMessage, StoredMessage } from '../../ports/read-models.ts';

/** A message as history shows it right after it was sent: no edit, no delete, no replies, no reactions. */
export const fresh = (message: Omit<SentMessage, 'reply_to_seq' | 'mentions'> & Partial<SentMessage>): StoredMessage => ({
  reply_to_seq: null,
  mentions: [],
  ...message,
  edited_at: null,
  deleted: false,
  reply_count: 0,
  reactions: [],
  updated_position: message.position,
});

/** The history writes of sending these messages (what the history projector emits for MessageSent). */
export const sends = (messages: StoredMessage[]): HistoryWrite[] =>
  messages.map(({ edited_at: _e, deleted: _d, reply_count: _r, reactions: _x, updated_position: _u, ...message }) => ({ op: 'message', message }));
