import type { ContentType } from '../../contracts/primitives.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';
import type { SearchIndex, SearchWrite } from '../../ports/search.ts';
import { wordsOf } from './text.ts';

/**
 * What a message is found by: a text message by its text, a media message by its caption (media
 * content is JSON, contracts/media.ts; it names no file, so the caption is all there is), an
 * encrypted one never (the server cannot read it, and must not pretend to). Null: not indexed.
 */
export const searchableText = (content: string, contentType: ContentType): string | null => {
  if (contentType === 'text') return content;
  if (contentType !== 'media') return null;
  try {
    const { caption } = JSON.parse(content) as { caption?: unknown };
    return typeof caption === 'string' ? caption : '';
  } catch {
    return '';
  }
};

/** The index writes of a batch: sends, edits (current text only) and deletes, folded here so both engines index the same words. */
export const searchOps = (events: Recorded[]): SearchWrite[] => {
  const ops: SearchWrite[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'MessageSent': {
        const m = event.data;
        const text = searchableText(m.content, m.content_type);
        if (text === null) break;
        ops.push({ op: 'message', message: {
          conversation_id: m.conversation_id, seq: m.seq, message_id: m.message_id, sender_id: m.sender_id, timestamp: m.timestamp,
          position: event.position, text, words: wordsOf(text),
        } });
        break;
      }
      case 'MessageEdited': {
        const e = event.data;
        // An encrypted message's edit is ciphertext too; media cannot be edited.
        if (e.content_type !== 'text') break;
        ops.push({ op: 'edit', conversation_id: e.conversation_id, seq: e.seq, text: e.content, words: wordsOf(e.content), position: event.position });
        break;
      }
      case 'MessageDeleted':
        ops.push({ op: 'delete', conversation_id: event.data.conversation_id, seq: event.data.seq, position: event.position });
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
