import { hasReacted, type Message } from '@natter/client';
import { h } from '../dom.ts';
import { clock } from '../format.ts';
import { splitMentions } from '../mentions.ts';
import { DELETED } from '../state.ts';
import { tickText, type Tick } from '../ticks.ts';

/** The few emojis the picker offers; a reaction someone else chose from elsewhere still shows and can be joined. */
export const EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

export type MessageActions = {
  /** Adds my reaction, or takes it back when it is there. */
  toggleReaction(seq: number, emoji: string): void;
  togglePicker(seq: number): void;
  startEdit(seq: number): void;
  remove(seq: number): void;
  openThread(seq: number): void;
};

export type MessageView = {
  me: string;
  /** Groups name the sender of others' messages. */
  showSender: boolean;
  tick: Tick | null;
  pickerOpen: boolean;
  /** Inside a thread panel: no reply link, no quote, no nested threads. */
  inThread: boolean;
  /** The message a reply answers, when it is loaded. */
  parent?: Message | undefined;
};

const replies = (n: number) => (n === 1 ? '1 reply' : `${n} replies`);

/** One message: text with highlighted mentions, reactions, footer (edited, time, ticks, replies) and its actions. */
export const messageItem = (m: Message, view: MessageView, actions: MessageActions) => {
  const mine = m.sender_id === view.me;
  const mentionsMe = !mine && m.mentions.includes(view.me);
  return h(
    'li',
    { class: `message ${mine ? 'mine' : 'theirs'}${mentionsMe ? ' mentions-me' : ''}${m.deleted ? ' deleted' : ''}`, 'data-seq': m.seq },
    view.showSender && !mine ? h('div', { class: 'sender' }, m.sender_id) : null,
    m.reply_to_seq !== null && !view.inThread
      ? h(
          'button',
          {
            class: 'quote',
            type: 'button',
            title: 'open the thread',
            onclick: (() => actions.openThread(m.reply_to_seq!)) as EventListener,
          },
          `↪ ${view.parent ? `${view.parent.sender_id}: ${view.parent.deleted ? DELETED : view.parent.content.slice(0, 60)}` : 'a reply'}`,
        )
      : null,
    m.deleted
      ? h('div', { class: 'content deleted' }, DELETED)
      : h(
          'div',
          { class: 'content' },
          ...splitMentions(m.content, m.mentions).map((part) =>
            part.user ? h('span', { class: `mention${part.user === view.me ? ' me' : ''}` }, part.text) : part.text,
          ),
        ),
    m.reactions.length
      ? h(
          'div',
          { class: 'reactions' },
          ...m.reactions.map((r) =>
            h(
              'button',
              {
                class: `reaction${hasReacted(m, r.emoji, view.me) ? ' mine' : ''}`,
                type: 'button',
                'data-emoji': r.emoji,
                title: r.user_ids.join(', '),
                onclick: (() => actions.toggleReaction(m.seq, r.emoji)) as EventListener,
              },
              `${r.emoji} ${r.count}`,
            ),
          ),
        )
      : null,
    h(
      'div',
      { class: 'footer' },
      m.reply_count > 0 && !view.inThread
        ? h(
            'button',
            {
              class: 'replies',
              type: 'button',
              onclick: (() => actions.openThread(m.seq)) as EventListener,
            },
            replies(m.reply_count),
          )
        : null,
      m.edited_at !== null && !m.deleted ? h('span', { class: 'edited', title: `edited ${clock(m.edited_at)}` }, 'edited') : null,
      h('time', {}, clock(m.timestamp)),
      view.tick ? h('span', { class: `tick tick-${view.tick}`, 'data-tick': view.tick, title: view.tick }, tickText[view.tick]) : null,
    ),
    m.deleted
      ? null
      : h(
          'div',
          { class: 'actions' },
          view.inThread ? null : action('Reply', 'reply in a thread', () => actions.openThread(m.seq)),
          action('☺+', 'react', () => actions.togglePicker(m.seq)),
          mine && m.content_type === 'text' ? action('Edit', 'edit', () => actions.startEdit(m.seq)) : null,
          mine ? action('Delete', 'delete', () => actions.remove(m.seq)) : null,
        ),
    view.pickerOpen && !m.deleted
      ? h(
          'div',
          { class: 'picker', role: 'menu' },
          ...EMOJIS.map((emoji) =>
            h(
              'button',
              {
                type: 'button',
                role: 'menuitem',
                'data-emoji': emoji,
                class: hasReacted(m, emoji, view.me) ? 'mine' : undefined,
                onclick: (() => actions.toggleReaction(m.seq, emoji)) as EventListener,
              },
              emoji,
            ),
          ),
        )
      : null,
  );
};

const action = (label: string, title: string, run: () => void) =>
  h('button', { type: 'button', class: 'action', 'data-action': title.split(' ')[0]!, title, onclick: run as EventListener }, label);

/** One of my sends that has no ack yet. */
export const pendingItem = (content: string) =>
  h(
    'li',
    { class: 'message mine pending' },
    h('div', { class: 'content' }, content),
    h('div', { class: 'footer' }, h('span', { class: 'tick tick-pending', 'data-tick': 'pending', title: 'pending' }, tickText.pending)),
  );
