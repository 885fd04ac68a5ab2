import type { ContentCipher } from '../../ports/content-keys.ts';
import type { HistoryStore, InboxStore, ReadModels, StoredMessage } from '../../ports/read-models.ts';
import type { SearchHit, SearchIndex } from '../../ports/search.ts';
import { PREVIEW_LENGTH } from '../../projections/inbox/projector.ts';

/**
 * The read models as the query side and the gateway read them: history, inbox previews and search
 * hold sealed text (so that a destroyed key erases them too), opened here on the way out. A message whose
 * author was erased shows deleted and erased, with nothing of what it said; one whose key is missing
 * without an erasure is reported through `onMissing` and shown empty with `unavailable`.
 */
export const openingReadModels = (readModels: ReadModels, cipher: ContentCipher, onMissing: (what: string) => void): ReadModels => {
  const openMessage = async (m: StoredMessage): Promise<StoredMessage> => {
    const opened = await cipher.open(m.content);
    if (opened.ok) return opened.text === m.content ? m : { ...m, content: opened.text };
    if (opened.reason === 'erased') return { ...m, content: '', deleted: true, erased: true, mentions: [], reactions: [] };
    onMissing(`message ${m.seq} of ${m.conversation_id}`);
    return { ...m, content: '', unavailable: true };
  };
  const opened = (rows: Promise<StoredMessage[]>) => rows.then((ms) => Promise.all(ms.map(openMessage)));
  const history: HistoryStore = {
    write: (ops) => readModels.history.write(ops),
    page: (id, page) => opened(readModels.history.page(id, page)),
    afterPosition: (id, after, upTo, limit) => opened(readModels.history.afterPosition(id, after, upTo, limit)),
    changedAfter: (id, after, upTo, limit) => opened(readModels.history.changedAfter(id, after, upTo, limit)),
    replies: (id, parent, page) => opened(readModels.history.replies(id, parent, page)),
    reset: () => readModels.history.reset(),
  };
  const inbox: InboxStore = {
    write: (ops) => readModels.inbox.write(ops),
    list: async (userId, options) => {
      const page = await readModels.inbox.list(userId, options);
      const items = await Promise.all(
        page.items.map(async (item) => {
          if (!item.last_message) return item;
          const preview = await cipher.open(item.last_message.preview);
          if (preview.ok)
            return preview.text === item.last_message.preview
              ? item
              : { ...item, last_message: { ...item.last_message, preview: preview.text.slice(0, PREVIEW_LENGTH) } };
          if (preview.reason === 'missing') onMissing(`the preview of ${item.conversation_id}`);
          return { ...item, last_message: { ...item.last_message, preview: '', ...(preview.reason === 'erased' ? { deleted: true, erased: true } : {}) } };
        }),
      );
      return { ...page, items };
    },
    changedSince: (userId, position) => readModels.inbox.changedSince(userId, position),
    mutedAmong: (id, users, now) => readModels.inbox.mutedAmong(id, users, now),
    reset: () => readModels.inbox.reset(),
  };
  // Search hits hold the content sealed like history: opened here. An erased author's messages are
  // left out (their words may linger in the index until `natter replay search`, never their text),
  // and the page is filled from further down, so that a left-out hit never ends the paging early.
  const openHit = async (hit: SearchHit): Promise<SearchHit | null> => {
    const text = await cipher.open(hit.text);
    if (text.ok) return text.text === hit.text ? hit : { ...hit, text: text.text };
    if (text.reason === 'missing') onMissing(`search result ${hit.seq} of ${hit.conversation_id}`);
    return null;
  };
  const search: SearchIndex = {
    write: (ops) => readModels.search.write(ops),
    search: async (request) => {
      const found: SearchHit[] = [];
      for (let before = request.before; ; ) {
        const raw = await readModels.search.search({ ...request, ...(before !== undefined ? { before } : {}) });
        for (const hit of await Promise.all(raw.map(openHit))) if (hit) found.push(hit);
        if (raw.length < request.limit || found.length >= request.limit) return found.slice(0, request.limit);
        before = raw.at(-1)!.position;
      }
    },
    reset: () => readModels.search.reset(),
  };
  return { ...readModels, history, inbox, search };
};
