import type { OutboxEntry } from '@natter/client';
import { h, replaceChildren } from '../dom.ts';
import type { ChatState } from '../state.ts';
import { tickFor } from '../ticks.ts';
import { messageItem, pendingItem, type MessageActions } from './message.ts';
import { textBox } from './text-box.ts';

export type ThreadActions = MessageActions & { reply(text: string): void; closeThread(): void };

/** The open thread beside the conversation: the message, its replies, and a composer that replies to it. */
export const threadPanel = (actions: ThreadActions) => {
  const title = h('h3', {}, 'Thread');
  const list = h('ol', { class: 'thread-messages', 'aria-label': 'thread' });
  const { box: input, set } = textBox({ name: 'reply', placeholder: 'Reply in the thread', label: 'reply' });
  const composer = h(
    'form',
    {
      class: 'thread-composer',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (text) actions.reply(text);
        set('');
      }) as EventListener,
    },
    input,
    h('button', { type: 'submit' }, 'Reply'),
  );
  const panel = h(
    'section',
    { class: 'thread', hidden: true, 'aria-label': 'thread panel' },
    h(
      'header',
      { class: 'conversation-header thread-header' },
      title,
      h('button', { type: 'button', class: 'action close', title: 'close the thread', onclick: (() => actions.closeThread()) as EventListener }, '✕'),
    ),
    list,
    composer,
  );

  const render = (state: ChatState, pending: readonly OutboxEntry[]) => {
    const ref = state.thread;
    const conversation = ref ? state.conversations.get(ref.conversationId) : undefined;
    panel.hidden = !ref || !conversation;
    if (!ref || !conversation) return;
    const parent = state.find(ref);
    const replies = state.threadOf(ref);
    const others = state.othersWatermarks(ref.conversationId);
    const item = (m: NonNullable<typeof parent>, inThread: boolean) =>
      messageItem(
        m,
        {
          me: state.me,
          showSender: true,
          tick: m.sender_id === state.me ? tickFor(m.seq, others) : null,
          pickerOpen: state.picker?.conversationId === ref.conversationId && state.picker.seq === m.seq,
          inThread,
        },
        actions,
      );
    const shown = new Set(replies?.map((m) => m.client_msg_id));
    title.textContent = replies ? `Thread · ${replies.length === 1 ? '1 reply' : `${replies.length} replies`}` : 'Thread';
    replaceChildren(
      list,
      parent ? item(parent, true) : null,
      replies?.length ? null : h('li', { class: 'older' }, replies ? 'no replies yet' : 'loading…'),
      ...(replies ?? []).map((m) => item(m, true)),
      ...pending
        .filter((p) => p.conversation_id === ref.conversationId && p.reply_to_seq === ref.seq && !shown.has(p.client_msg_id))
        .map((p) => pendingItem(p.content)),
    );
    list.scrollTop = list.scrollHeight;
  };
  return { element: panel, render, focus: () => input.focus() };
};
