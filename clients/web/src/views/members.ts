import { h, replaceChildren } from '../dom.ts';
import type { ChatState } from '../state.ts';

export type MembersActions = {
  rename(title: string): void;
  /** Makes a member admin, or takes the role back. */
  setAdmin(userId: string, admin: boolean): void;
  /** Removes a member; my own id leaves the group. */
  remove(userId: string): void;
  closeMembers(): void;
};

/**
 * The open group's members beside the conversation, in the thread's place: an "admin" tag on each
 * admin, and for an admin a rename form and, on each row, make or unmake admin and remove. Anyone may
 * leave. The server has the last word (a group keeps one admin: `last_admin`).
 */
export const membersPanel = (actions: MembersActions) => {
  const title = h('h3', {}, 'Members');
  const list = h('ul', { class: 'member-list', 'aria-label': 'members' });
  // Built once, so a render does not wipe a title being typed.
  const input = h('input', { name: 'title', placeholder: 'group title', autocomplete: 'off', required: true, 'aria-label': 'group title' });
  const rename = h(
    'form',
    {
      class: 'rename',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (text) actions.rename(text);
      }) as EventListener,
    },
    input,
    h('button', { type: 'submit' }, 'Rename'),
  );
  const panel = h(
    'section',
    { class: 'side-panel members', hidden: true, 'aria-label': 'members panel' },
    h(
      'header',
      { class: 'conversation-header side-header' },
      title,
      h('button', { type: 'button', class: 'action close', title: 'close the members', onclick: (() => actions.closeMembers()) as EventListener }, '✕'),
    ),
    rename,
    list,
  );

  let shownFor: string | null = null;
  const render = (state: ChatState) => {
    const conversation = state.openId ? state.conversations.get(state.openId) : undefined;
    const open = state.membersOpen && state.thread === null && conversation?.kind === 'group';
    panel.hidden = !open;
    if (!open || !conversation) {
      shownFor = null;
      return;
    }
    const admin = state.isAdmin(conversation);
    const members = conversation.members ?? [];
    const admins = conversation.admins ?? [];
    title.textContent = `Members · ${members.length}`;
    rename.hidden = !admin;
    // The field follows the title unless the user is typing in it.
    if (shownFor !== conversation.id || document.activeElement !== input) input.value = conversation.title ?? '';
    shownFor = conversation.id;
    const button = (label: string, action: string, run: () => void) =>
      h('button', { type: 'button', class: 'action', 'data-action': action, onclick: run as EventListener }, label);
    replaceChildren(
      list,
      ...[...members]
        .sort((a, b) => Number(admins.includes(b)) - Number(admins.includes(a)) || a.localeCompare(b))
        .map((user) => {
          const isAdmin = admins.includes(user);
          const me = user === state.me;
          return h(
            'li',
            { class: 'member', 'data-user': user },
            h('span', { class: 'member-name' }, user, me ? h('span', { class: 'you' }, ' (you)') : null),
            isAdmin ? h('span', { class: 'admin-tag' }, 'admin') : null,
            h(
              'span',
              { class: 'member-actions' },
              admin
                ? isAdmin
                  ? button('Remove admin', 'unadmin', () => actions.setAdmin(user, false))
                  : button('Make admin', 'admin', () => actions.setAdmin(user, true))
                : null,
              me ? button('Leave', 'leave', () => actions.remove(user)) : admin ? button('Remove', 'remove', () => actions.remove(user)) : null,
            ),
          );
        }),
    );
  };
  return { element: panel, render };
};
