import { h, replaceChildren } from '../dom.ts';
import { when } from '../format.ts';
import type { ChatState } from '../state.ts';
import { mutedTitle } from './conversation-header.ts';

export type SidebarActions = {
  open(id: string): void;
  /** The next page of conversations. */
  more(): void;
  newDirect(peer: string): void;
  newGroup(title: string, members: string[]): void;
};

/** How close to the end of the list (px) the next page is asked for, so that it is there before the reader gets there. */
const MORE_AHEAD = 300;

/** The "new direct chat" and "new group" forms; they stay put across renders so typing is not lost. */
export const newConversationForms = (actions: SidebarActions) => {
  const peer = h('input', { name: 'peer', placeholder: 'user id', required: true, 'aria-label': 'peer user id' });
  const direct = h(
    'form',
    {
      class: 'new-direct',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        actions.newDirect(peer.value.trim());
        peer.value = '';
      }) as EventListener,
    },
    peer,
    h('button', { type: 'submit' }, 'New chat'),
  );

  const title = h('input', { name: 'title', placeholder: 'group title', required: true, 'aria-label': 'group title' });
  const members = h('input', { name: 'members', placeholder: 'members: bob, carol', 'aria-label': 'group members' });
  const group = h(
    'form',
    {
      class: 'new-group',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        actions.newGroup(
          title.value.trim(),
          members.value
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean),
        );
        title.value = '';
        members.value = '';
      }) as EventListener,
    },
    title,
    members,
    h('button', { type: 'submit' }, 'New group'),
  );
  return h('div', { class: 'new-conversation' }, direct, group);
};

/** The list's frame: scrolled near its end, it asks for the next page. */
export const conversationList = (actions: SidebarActions) => {
  const list = h('ul', { class: 'conversations', 'aria-label': 'conversations' });
  list.addEventListener('scroll', () => {
    if (list.querySelector('.more') && list.scrollTop + list.clientHeight > list.scrollHeight - MORE_AHEAD) actions.more();
  });
  return list;
};

/** The conversation list: name, presence dot for direct chats, last message preview, muted icon, mention and unread badges. */
export const renderConversationList = (list: HTMLElement, state: ChatState, actions: SidebarActions, hasMore: boolean) => {
  // A render keeps the reader's place in a long list.
  const scrollTop = list.scrollTop;
  replaceChildren(
    list,
    ...state.sorted().map((c) => {
      const peer = state.peerOf(c);
      const online = peer ? state.presence.get(peer)?.status === 'online' : false;
      const muted = state.isMuted(c);
      return h(
        'li',
        {
          class: `conversation${c.id === state.openId ? ' open' : ''}${muted ? ' muted' : ''}`,
          'data-id': c.id,
          'data-name': state.nameOf(c),
          onclick: (() => actions.open(c.id)) as EventListener,
        },
        peer ? h('span', { class: `dot${online ? ' online' : ''}`, title: online ? 'online' : 'offline' }) : h('span', { class: 'group-mark' }, '#'),
        h('div', { class: 'summary' }, h('div', { class: 'name' }, state.nameOf(c)), h('div', { class: 'preview' }, c.preview ?? 'no messages yet')),
        h(
          'div',
          { class: 'meta' },
          h('time', {}, when(c.lastActivity)),
          h(
            'div',
            { class: 'badges' },
            muted ? h('span', { class: 'muted-icon', title: mutedTitle(c.mutedUntil), 'aria-label': 'muted' }, '🔕') : null,
            c.mentions > 0 ? h('span', { class: 'badge mention', title: `${c.mentions} unread mention${c.mentions === 1 ? '' : 's'}` }, '@') : null,
            c.unread > 0 ? h('span', { class: 'badge unread' }, c.unread) : null,
          ),
        ),
      );
    }),
    // Scrolling loads the next page by itself; the button is there for keyboards and tall screens.
    hasMore ? h('li', { class: 'more' }, h('button', { type: 'button', onclick: (() => actions.more()) as EventListener }, 'More conversations')) : null,
  );
  list.scrollTop = scrollTop;
};
