import type { OpenedContent } from '../../ports/content-keys.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';
import type { SearchIndex, SearchWrite } from '../../ports/search.ts';
import { searchableText, wordsOf } from './text.ts';

/** The content the index stores: sealed when the log holds it sealed (a destroyed key erases it here too). */
const storedContent = (data: { content: string } & OpenedContent) => data.sealed ?? data.content;

/**
 * The index writes of a batch: sends, edits (current text only), deletes, expiries and erasures. Events come opened
 * (adapters/crypto/sealed-events.ts): the words are folded here from the plain text, so both engines
 * index the same words; the text is kept as the log holds it. An erased author's content arrives
 * empty, so a rebuild after an erasure indexes none of it.
 */
export const searchOps = (events: Recorded[]): SearchWrite[] => {
  const ops: SearchWrite[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'MessageSent': {
        const m = event.data;
        const text = searchableText(m.content, m.content_type);
        if (text === null || m.content_type === 'ciphertext') break;
        ops.push({
          op: 'message',
          message: {
            conversation_id: m.conversation_id,
            seq: m.seq,
            message_id: m.message_id,
            sender_id: m.sender_id,
            timestamp: m.timestamp,
            position: event.position,
            content_type: m.content_type,
            text: storedContent(m),
            words: wordsOf(text),
          },
        });
        break;
      }
      case 'MessageEdited': {
        const e = event.data;
        // An encrypted message's edit is ciphertext too; media cannot be edited.
        if (e.content_type !== 'text') break;
        ops.push({ op: 'edit', conversation_id: e.conversation_id, seq: e.seq, text: storedContent(e), words: wordsOf(e.content), position: event.position });
        break;
      }
      case 'MessageDeleted':
        ops.push({ op: 'delete', conversation_id: event.data.conversation_id, seq: event.data.seq, position: event.position });
        break;
      case 'MessagesExpired':
        ops.push({ op: 'expire', conversation_id: event.data.conversation_id, up_to_seq: event.data.up_to_seq, position: event.position });
        break;
      case 'UserErased':
        ops.push({ op: 'erase', sender_id: event.data.user_id, position: event.position });
        break;
    }
  }
  return ops;
};

export const searchProjector = (index: SearchIndex): Projector => ({
  name: 'search',
  handle: async (events) => {
    const ops = searchOps(events);
    if (ops.length > 0) await index.write(ops);
  },
  reset: () => index.reset(),
});
