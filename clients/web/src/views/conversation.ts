import type { OutboxEntry } from '@natter/client';
import { h, replaceChildren } from '../dom.ts';
import type { ChatState } from '../state.ts';
import { tickFor } from '../ticks.ts';
import { renderHeader, type HeaderActions } from './conversation-header.ts';
import { messageItem, pendingItem, type MessageActions } from './message.ts';
import { textBox } from './text-box.ts';

export type ConversationActions = MessageActions &
  HeaderActions & {
    /** The composer's text: a new message, or the edited text while editing. */
    send(text: string): void;
    cancelEdit(): void;
    typing(): void;
    loadOlder(): void;
  };

/** The open conversation's fixed frame; `render` fills it without touching what the user is typing. */
export const conversationPane = (actions: ConversationActions) => {
  const header = h('header', { class: 'conversation-header' });
  const messages = h('ol', { class: 'messages', 'aria-label': 'messages' });
  const typing = h('div', { class: 'typing', 'aria-live': 'polite' });
  const { box: input, set } = textBox({ name: 'text', placeholder: 'Message (@user mentions a member)', label: 'message' });
  const submit = h('button', { type: 'submit' }, 'Send');
  const editing = h(
    'div',
    { class: 'editing', hidden: true },
    h('span', {}, 'Editing message'),
    h('button', { type: 'button', class: 'action', onclick: (() => actions.cancelEdit()) as EventListener }, 'Cancel'),
  );
  const composer = h(
    'form',
    {
      class: 'composer',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (text) actions.send(text);
        set('');
      }) as EventListener,
    },
    input,
    submit,
  );
  input.addEventListener('input', () => actions.typing());
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') actions.cancelEdit();
  });
  // Near the top, fetch the page before the oldest loaded message.
  messages.addEventListener('scroll', () => {
    if (messages.scrollTop < 40) actions.loadOlder();
  });
  const pane = h('section', { class: 'pane' }, header, messages, typing, editing, composer);

  const render = (state: ChatState, pending: readonly OutboxEntry[]) => {
    const conversation = state.openId ? state.conversations.get(state.openId) : undefined;
    pane.hidden = !conversation;
    if (!conversation) return;
    renderHeader(header, conversation, state, actions);

    // Keep the reader where they are: pinned to the bottom, or at the same message when older ones are prepended.
    const fromBottom = messages.scrollHeight - messages.scrollTop;
    const atBottom = fromBottom - messages.clientHeight < 40;
    const others = state.othersWatermarks(conversation.id);
    const loaded = state.messages.get(conversation.id) ?? [];
    const shown = new Set(loaded.map((m) => m.client_msg_id));
    const id = conversation.id;
    replaceChildren(
      messages,
      state.hasOlder.get(id) ? h('li', { class: 'older' }, 'scroll up for older messages') : null,
      ...loaded.map((m) =>
        messageItem(
          m,
          {
            me: state.me,
            showSender: conversation.kind === 'group',
            tick: m.sender_id === state.me ? tickFor(m.seq, others) : null,
            pickerOpen: state.picker?.conversationId === id && state.picker.seq === m.seq,
            inThread: false,
            parent: m.reply_to_seq === null ? undefined : state.find({ conversationId: id, seq: m.reply_to_seq }),
          },
          actions,
        ),
      ),
      ...pending.filter((p) => p.conversation_id === id && !shown.has(p.client_msg_id)).map((p) => pendingItem(p.content)),
    );
    messages.scrollTop = atBottom ? messages.scrollHeight : messages.scrollHeight - fromBottom;

    const typists = [...(state.typing.get(id) ?? [])];
    typing.textContent = typists.length ? `${typists.join(', ')} ${typists.length > 1 ? 'are' : 'is'} typing…` : '';
    editing.hidden = state.editing?.conversationId !== id;
    submit.textContent = editing.hidden ? 'Send' : 'Save';
  };
  /** Puts text in the composer (the message to edit) or empties it. */
  const fill = (text: string) => {
    set(text);
    input.focus();
  };
  return { element: pane, render, focus: () => input.focus(), fill };
};
