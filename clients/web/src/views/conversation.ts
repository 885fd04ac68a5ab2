import type { OutboxEntry } from '../../../sdk/index.ts';
import { h, replaceChildren } from '../dom.ts';
import { clock, lastSeen } from '../format.ts';
import type { ChatState } from '../state.ts';
import { tickFor, tickText } from '../ticks.ts';

export type ConversationActions = { send(text: string): void; typing(): void; loadOlder(): void };

/** The open conversation's fixed frame; `render` fills it without touching what the user is typing. */
export const conversationPane = (actions: ConversationActions) => {
  const header = h('header', { class: 'conversation-header' });
  const messages = h('ol', { class: 'messages', 'aria-label': 'messages' });
  const typing = h('div', { class: 'typing', 'aria-live': 'polite' });
  const input = h('input', { name: 'text', placeholder: 'Message', autocomplete: 'off', 'aria-label': 'message' });
  const composer = h('form', {
    class: 'composer',
    onsubmit: ((event: Event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (text) actions.send(text);
      input.value = '';
    }) as EventListener,
  }, input, h('button', { type: 'submit' }, 'Send'));
  input.addEventListener('input', () => actions.typing());
  // Near the top, fetch the page before the oldest loaded message.
  messages.addEventListener('scroll', () => { if (messages.scrollTop < 40) actions.loadOlder(); });
  const pane = h('section', { class: 'pane' }, header, messages, typing, composer);

  const render = (state: ChatState, pending: readonly OutboxEntry[]) => {
    const conversation = state.openId ? state.conversations.get(state.openId) : undefined;
    pane.hidden = !conversation;
    if (!conversation) return;
    const peer = state.peerOf(conversation);
    replaceChildren(header,
      h('h2', {}, state.nameOf(conversation)),
      h('div', { class: 'subtitle' }, peer ? lastSeen(state.presence.get(peer)) : (conversation.members ?? []).join(', ')));

    // Keep the reader where they are: pinned to the bottom, or at the same message when older ones are prepended.
    const fromBottom = messages.scrollHeight - messages.scrollTop;
    const atBottom = fromBottom - messages.clientHeight < 40;
    const others = state.othersWatermarks(conversation.id);
    const loaded = state.messages.get(conversation.id) ?? [];
    const shown = new Set(loaded.map((m) => m.client_msg_id));
    replaceChildren(messages,
      state.hasOlder.get(conversation.id) ? h('li', { class: 'older' }, 'scroll up for older messages') : null,
      ...loaded.map((m) => bubble(m.sender_id === state.me, conversation.kind === 'group' ? m.sender_id : null, m.content, m.timestamp, m.sender_id === state.me ? tickFor(m.seq, others) : null, m.seq)),
      ...pending.filter((p) => p.conversation_id === conversation.id && !shown.has(p.client_msg_id))
        .map((p) => bubble(true, null, p.content, null, 'pending', null)));
    messages.scrollTop = atBottom ? messages.scrollHeight : messages.scrollHeight - fromBottom;

    const typists = [...(state.typing.get(conversation.id) ?? [])];
    typing.textContent = typists.length ? `${typists.join(', ')} ${typists.length > 1 ? 'are' : 'is'} typing…` : '';
  };
  return { element: pane, render, focus: () => input.focus() };
};

const bubble = (mine: boolean, sender: string | null, content: string, timestamp: number | null, tick: ReturnType<typeof tickFor> | null, seq: number | null) =>
  h('li', { class: `message ${mine ? 'mine' : 'theirs'}`, ...(seq ? { 'data-seq': seq } : {}) },
    sender && !mine ? h('div', { class: 'sender' }, sender) : null,
    h('div', { class: 'content' }, content),
    h('div', { class: 'footer' },
      timestamp ? h('time', {}, clock(timestamp)) : null,
      tick ? h('span', { class: `tick tick-${tick}`, 'data-tick': tick, title: tick }, tickText[tick]) : null));
