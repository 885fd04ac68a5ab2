import type { InboxReply, NatterApi } from '@natter/client';
import type { ChatState } from './state.ts';

/** Conversations per inbox page (the server allows up to 200). */
const PAGE = 100;

/**
 * The conversation list a page at a time, following the server's `next_cursor`: the first page at
 * start, the next when the list is scrolled to its end. The cursor is a position in the inbox's
 * order (activity, then id), so a conversation that becomes active meanwhile moves to the top
 * without shifting the pages still to come.
 */
export const inboxPages = (api: NatterApi, state: ChatState) => {
  /** Where the next page starts; null once the last page is in. */
  let cursor: string | null = null;
  let pages = 0;
  let loadingMore: Promise<string[]> | null = null;
  // One request at a time, so that a refresh and a page do not race to set the cursor.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const next = queue.then(run);
    queue = next.catch(() => undefined);
    return next;
  };
  const fetchPage = async (from: string | null): Promise<InboxReply> => {
    const page = await api.inbox({ limit: PAGE, ...(from ? { cursor: from } : {}) });
    for (const item of page.items) state.fromInbox(item);
    return page;
  };

  /** Reloads as many pages as were loaded, from the top: after a reconnect the server's unread counts are the truth again. */
  const refresh = () =>
    serial(async () => {
      let from: string | null = null;
      let loaded = 0;
      do {
        from = (await fetchPage(from)).next_cursor;
        loaded += 1;
      } while (from && loaded < pages);
      pages = loaded;
      cursor = from;
    });

  /** The next page, once however often the list asks while it loads; resolves to the ids it brought. */
  const more = (): Promise<string[]> => {
    loadingMore ??= serial(async () => {
      if (!cursor) return [];
      const page = await fetchPage(cursor);
      pages += 1;
      cursor = page.next_cursor;
      return page.items.map((item) => item.conversation_id);
    }).finally(() => {
      loadingMore = null;
    });
    return loadingMore;
  };

  return { refresh, more, hasMore: () => cursor !== null };
};
