import { hasReacted, type Message, type NatterApi, type NatterClient } from '@natter/client';
import { mentionsIn } from './mentions.ts';
import type { ChatState, MessageRef } from './state.ts';
import type { MessageActions } from './views/message.ts';

export type ControlDeps = {
  state: ChatState;
  client: NatterClient;
  api: NatterApi;
  render(): void;
  /** Loads a conversation's members when they are not known yet. */
  details(id: string): Promise<void>;
  /** A refused edit, delete or reaction: the page says what and why. */
  report(what: string, error: unknown): void;
  fail(error: unknown): void;
  fillComposer(text: string): void;
  focusThread(): void;
};

const THREAD_PAGE = 200;

/** What a person can do to a message once it is sent: react, edit, delete, reply in its thread; and sends with mentions. */
export const messageControls = ({ state, client, api, render, details, report, fail, fillComposer, focusThread }: ControlDeps) => {
  const here = (seq: number): MessageRef | null => (state.openId ? { conversationId: state.openId, seq } : null);
  const refused = (what: string) => (error: unknown) => report(what, error);

  /**
   * Sends with the `@user` mentions of members. Mentions need the members, which may still be
   * loading; the chain keeps the sends in the order they were typed meanwhile. A failure is
   * reported by send_failed.
   */
  let sending = Promise.resolve();
  const sendText = (id: string, text: string, replyTo?: number) => {
    sending = sending
      .then(() => details(id))
      .catch(() => {
        /* no members: no mentions */
      })
      .then(() => {
        const mentions = mentionsIn(text, state.conversations.get(id)?.members ?? []);
        client.send(id, text, { ...(replyTo !== undefined ? { replyTo } : {}), mentions }).catch(() => {
          /* reported by send_failed */
        });
      });
  };

  /** The composer's text replaces the message being edited; the server decides whether it still may (author, window, not deleted). */
  const saveEdit = (text: string) => {
    const editing = state.editing;
    if (!editing) return;
    state.editing = null;
    render();
    if (text !== state.find(editing)?.content) client.edit(editing.conversationId, editing.seq, text).catch(refused('not edited'));
  };

  const cancelEdit = () => {
    if (!state.editing) return;
    state.editing = null;
    fillComposer('');
    render();
  };

  const openThread = async (seq: number) => {
    const ref = here(seq);
    if (!ref) return;
    state.thread = ref;
    state.membersOpen = false;
    render();
    focusThread();
    const replies: Message[] = [];
    for (let after = 0; ; ) {
      const page = (await api.replies(ref.conversationId, seq, { after, limit: THREAD_PAGE })).items;
      replies.push(...page);
      if (page.length < THREAD_PAGE) break;
      after = page.at(-1)!.seq;
    }
    state.loadThread(ref, replies);
    render();
  };

  const actions: MessageActions = {
    toggleReaction: (seq, emoji) => {
      const ref = here(seq);
      const message = ref && state.find(ref);
      state.picker = null;
      render();
      if (!ref || !message) return;
      const request = hasReacted(message, emoji, state.me) ? client.unreact(ref.conversationId, seq, emoji) : client.react(ref.conversationId, seq, emoji);
      request.catch(refused('reaction refused'));
    },
    togglePicker: (seq) => {
      state.picker = state.picker?.seq === seq && state.picker.conversationId === state.openId ? null : here(seq);
      render();
    },
    startEdit: (seq) => {
      const ref = here(seq);
      const message = ref && state.find(ref);
      if (!ref || !message) return;
      state.editing = ref;
      fillComposer(message.content);
      render();
    },
    remove: (seq) => {
      const ref = here(seq);
      if (!ref || !confirm('Delete this message for everyone?')) return;
      client.delete(ref.conversationId, seq).catch(refused('not deleted'));
    },
    openThread: (seq) => void openThread(seq).catch(fail),
  };

  return { actions, sendText, saveEdit, cancelEdit };
};
