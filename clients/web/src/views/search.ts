import { NatterApiError, type SearchReply } from '@natter/client';
import { h, replaceChildren } from '../dom.ts';

export type SearchActions = {
  search(q: string): Promise<SearchReply>;
  /** Opens the conversation at the message. */
  jump(conversationId: string, seq: number): void;
  /** What to call a conversation in a result. */
  nameOf(conversationId: string): string;
};

const TYPING_PAUSE_MS = 250;

/** A snippet as nodes: the server's `<mark>` pairs become <mark> elements, everything else stays text (never parsed as HTML). */
const highlighted = (snippet: string) =>
  snippet
    .split(/(<mark>[\s\S]*?<\/mark>)/)
    .map((part) => (part.startsWith('<mark>') && part.endsWith('</mark>') ? h('mark', {}, part.slice('<mark>'.length, -'</mark>'.length)) : part));

/** The search box: results as the user types (after a short pause), newest first; a click jumps to the message. */
export const searchBox = (actions: SearchActions) => {
  const input = h('input', { type: 'search', class: 'search-input', placeholder: 'Search messages', 'aria-label': 'search messages' });
  const results = h('ul', { class: 'search-results', 'aria-label': 'search results' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  const clear = () => {
    asked += 1;
    replaceChildren(results);
  };

  const run = async () => {
    const q = input.value.trim();
    if (!q) {
      clear();
      return;
    }
    const mine = ++asked;
    let items: SearchReply['items'] = [];
    let failure: string | null = null;
    try {
      items = (await actions.search(q)).items;
    } catch (error) {
      // A query with no word in it (only punctuation, a lone quote) is a 400: simply nothing found.
      if (!(error instanceof NatterApiError && error.status === 400)) failure = error instanceof Error ? error.message : String(error);
    }
    // Only the answer to the latest query is shown.
    if (mine !== asked) return;
    if (failure !== null || items.length === 0) {
      replaceChildren(results, h('li', { class: 'search-empty' }, failure ?? 'No messages found'));
      return;
    }
    replaceChildren(
      results,
      ...items.map((item) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              class: 'search-result',
              'data-conversation': item.conversation_id,
              'data-seq': item.seq,
              onclick: (() => {
                input.value = '';
                clear();
                actions.jump(item.conversation_id, item.seq);
              }) as EventListener,
            },
            h('span', { class: 'search-where' }, `${actions.nameOf(item.conversation_id)} · ${item.sender_id}`),
            h('span', { class: 'search-snippet' }, ...highlighted(item.snippet)),
          ),
        ),
      ),
    );
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), TYPING_PAUSE_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      input.value = '';
      clear();
    }
  });
  return h('div', { class: 'search' }, input, results);
};
