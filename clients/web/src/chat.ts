import { NatterApi, NatterApiError, NatterClient, applyReaction, applyUpdate, webStorage, type Conversation, type Message } from '@natter/client';
import { h, replaceChildren } from './dom.ts';
import { governanceControls } from './governance.ts';
import { inboxPages } from './inbox.ts';
import { messageControls } from './message-controls.ts';
import { signOut as forgetSession, storagePrefix, type Session } from './session.ts';
import { ChatState, DELETED, type MessageRef } from './state.ts';
import { conversationPane } from './views/conversation.ts';
import { membersPanel } from './views/members.ts';
import { conversationList, newConversationForms, renderConversationList } from './views/sidebar.ts';
import { threadPanel } from './views/thread.ts';
import { searchBox } from './views/search.ts';

const PAGE = 30;
const TYPING_REFRESH_MS = 2_000;
const TYPING_IDLE_MS = 3_000;
/** Below this width the list and the open conversation take the screen in turn (style.css has the same breakpoint). */
const NARROW = '(max-width: 720px)';

/** The signed-in screen: wires the SDK's events and the REST queries to the state and the views. */
export const startChat = (root: HTMLElement, session: Session, signedOut: () => void) => {
  const api = new NatterApi(location.origin, session.token);
  const client = new NatterClient({
    url: location.origin,
    token: session.token,
    deviceId: session.deviceId,
    storage: webStorage(localStorage, storagePrefix(session)),
  });
  const state = new ChatState(session.userId);
  const inbox = inboxPages(api, state);
  const loadingOlder = new Set<string>();
  let typingSentAt = 0;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;

  const fail = (error: unknown) => {
    if (error instanceof NatterApiError && error.status === 401) {
      signOut();
      return;
    }
    notice.textContent = error instanceof Error ? error.message : String(error);
  };

  /** A refused request: the page says what was not done and the server's code and reason. */
  const report = (what: string, error: unknown) => {
    notice.textContent = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  };

  const remember = (conversation: Pick<Conversation, 'conversation_id' | 'type' | 'title' | 'members' | 'admins'>) => {
    const known = state.conversations.get(conversation.conversation_id);
    state.conversations.set(conversation.conversation_id, {
      id: conversation.conversation_id,
      kind: conversation.type,
      title: conversation.title,
      members: conversation.members,
      admins: conversation.admins,
      unread: known?.unread ?? 0,
      mentions: known?.mentions ?? 0,
      preview: known?.preview ?? null,
      lastSeq: known?.lastSeq ?? null,
      lastActivity: known?.lastActivity ?? Date.now(),
      muted: known?.muted ?? false,
      mutedUntil: known?.mutedUntil ?? null,
    });
  };

  /** Members (for names, ticks and presence) are not in the inbox; fetched once per conversation, with the peer's presence. */
  const details = async (id: string) => {
    if (!state.conversations.get(id)?.members) remember(await api.conversation(id));
    const peer = state.peerOf(state.conversations.get(id)!);
    if (peer && !state.presence.has(peer))
      await api.presence(peer).then(
        (p) => state.presence.set(peer, p),
        () => {
          /* never seen online */
        },
      );
  };

  /** Direct chats show their peer's name and presence, which the inbox does not hold. */
  const peersOf = async (ids: string[]) => {
    await Promise.all(ids.filter((id) => state.conversations.get(id)?.kind === 'direct').map(details));
    render();
  };

  const refreshInbox = async () => {
    await inbox.refresh();
    if (state.openId) readOpen();
    render();
    await peersOf(state.sorted().map((c) => c.id));
  };

  /** The next page of the inbox, when the list is scrolled to its end. */
  const moreConversations = async () => {
    if (!inbox.hasMore()) return;
    const ids = await inbox.more();
    render();
    await peersOf(ids);
  };

  const readOpen = () => {
    const id = state.openId;
    const summary = id ? state.conversations.get(id) : undefined;
    const last = id ? state.messages.get(id)?.at(-1) : undefined;
    if (!summary || !last) return;
    summary.unread = 0;
    summary.mentions = 0;
    client.markRead(summary.id, last.seq);
  };

  const open = async (id: string) => {
    if (state.openId !== id) {
      state.thread = state.editing = state.picker = null;
      state.membersOpen = state.muteMenu = false;
    }
    state.openId = id;
    history.replaceState(null, '', `#${id}`);
    render();
    await details(id);
    const receipts = await api.receipts(id);
    for (const r of receipts.items) {
      state.watermark(id, r.user_id, 'read', r.read_seq);
      state.watermark(id, r.user_id, 'delivered', r.delivered_seq);
    }
    if (!state.messages.has(id)) {
      const page = (await api.messages(id, { limit: PAGE })).items;
      state.messages.set(id, []);
      state.addMessages(id, page);
      state.hasOlder.set(id, page.length === PAGE && page[0]!.seq > 1);
    }
    readOpen();
    render();
    // On a phone, focus would pop the keyboard up over the conversation just opened.
    if (!matchMedia(NARROW).matches) pane.focus();
  };

  /** Back to the list: on a narrow screen the list and a conversation take the screen in turn. */
  const close = () => {
    stopTyping();
    state.openId = state.thread = state.editing = state.picker = null;
    state.membersOpen = state.muteMenu = false;
    history.replaceState(null, '', location.pathname + location.search);
    render();
  };

  const loadOlder = async () => {
    const id = state.openId;
    const first = id ? state.messages.get(id)?.[0] : undefined;
    if (!id || !first || !state.hasOlder.get(id) || loadingOlder.has(id)) return;
    loadingOlder.add(id);
    try {
      const page = (await api.messages(id, { before: first.seq, limit: PAGE })).items;
      state.addMessages(id, page);
      state.hasOlder.set(id, page.length === PAGE && page[0]!.seq > 1);
      render();
    } finally {
      loadingOlder.delete(id);
    }
  };

  /** The message a search result jumped to: outlined until another conversation opens (renders rebuild the list). */
  let found: MessageRef | null = null;
  const foundElement = () => (found && found.conversationId === state.openId ? pane.element.querySelector(`.messages [data-seq="${found.seq}"]`) : null);
  /** A search result: the conversation, older pages until the message is loaded, then the message in view. */
  const jumpTo = async (id: string, seq: number) => {
    await open(id);
    while ((state.messages.get(id)?.[0]?.seq ?? 0) > seq && state.hasOlder.get(id) && !loadingOlder.has(id)) await loadOlder();
    found = { conversationId: id, seq };
    render();
    // After that render.
    await new Promise((resolve) => setTimeout(resolve, 0));
    foundElement()?.scrollIntoView({ block: 'center' });
  };

  const stopTyping = () => {
    clearTimeout(typingIdle);
    if (typingSentAt && state.openId) client.typing(state.openId, 'stop');
    typingSentAt = 0;
  };

  const received = (message: Message) => {
    // This device has it, whether or not the list has its conversation yet (a sync can come before the inbox).
    if (message.sender_id !== state.me) client.markDelivered(message.conversation_id, message.seq);
    const summary = state.conversations.get(message.conversation_id);
    if (!summary) {
      void refreshInbox().catch(fail);
      return;
    }
    // Only conversations whose history is loaded keep messages; the others fetch theirs when opened.
    const loaded = state.messages.has(message.conversation_id);
    const fresh = !loaded || state.addMessages(message.conversation_id, [message]).length > 0;
    // A page of history that already holds the reply also holds its parent's count.
    if (fresh && message.reply_to_seq !== null) state.addReply(message);
    summary.preview = message.content.slice(0, 100);
    summary.lastSeq = message.seq;
    summary.lastActivity = message.timestamp;
    if (message.sender_id !== state.me) {
      state.setTyping(message.conversation_id, message.sender_id, false);
      if (state.openId === message.conversation_id) readOpen();
      else {
        summary.unread += 1;
        if (message.mentions.includes(state.me)) summary.mentions += 1;
      }
    }
    render();
  };

  /** Edits, deletes and reactions change every loaded copy of the message, and the preview when it shows that message. */
  const changed = (ref: MessageRef, apply: (m: Message) => Message, preview?: string) => {
    state.change(ref, apply);
    const summary = state.conversations.get(ref.conversationId);
    if (summary && preview !== undefined && summary.lastSeq === ref.seq) summary.preview = preview.slice(0, 100);
    render();
  };

  client.on('message', received);
  client.on('updated', (u) => changed({ conversationId: u.conversation_id, seq: u.seq }, (m) => applyUpdate(m, u), u.deleted ? DELETED : u.content));
  client.on('reaction', (r) => changed({ conversationId: r.conversation_id, seq: r.seq }, (m) => applyReaction(m, r)));
  client.on('status', (s) => {
    state.watermark(s.conversation_id, s.user_id, s.status, s.up_to_seq);
    render();
  });
  client.on('typing', (t) => {
    state.setTyping(t.conversation_id, t.user_id, t.state === 'start');
    render();
  });
  client.on('presence', (p) => {
    state.presence.set(p.user_id, { user_id: p.user_id, status: p.status, ...(p.last_seen ? { last_seen: p.last_seen } : {}) });
    render();
  });
  client.on('conversation', (update) => {
    if (!update.members.includes(state.me)) {
      state.conversations.delete(update.conversation_id);
      if (state.openId === update.conversation_id) state.openId = null;
      render();
      return;
    }
    // In the cluster this frame can come before the inbox has the conversation (the writer publishes
    // it at the append, the inbox follows the log): the list takes it from the frame, the inbox adds the rest.
    const fromFrame = { conversation_id: update.conversation_id, type: update.kind, title: update.title, members: update.members, admins: update.admins };
    remember(fromFrame);
    render();
    // The inbox may still hold the state before this frame (a rename not projected yet): the frame wins.
    void refreshInbox()
      .then(() => {
        remember(fromFrame);
        render();
      })
      .catch(fail);
  });
  for (const event of ['queued', 'ack'] as const) client.on(event, () => render());
  // `blocked`: the peer of this direct conversation blocked me; the code says so, the message says what.
  client.on('send_failed', ({ error }) => {
    notice.textContent = `not sent: ${error.code}: ${error.message}`;
    render();
  });
  client.on('state', (s) => {
    connection.dataset.state = s;
    connection.textContent = s;
    // After a (re)connect and sync the server's unread counts are the truth again.
    if (s === 'online') void refreshInbox().catch(fail);
  });

  const actions = {
    open: (id: string) => void open(id).catch(fail),
    more: () => void moreConversations().catch(fail),
    newDirect: (peer: string) =>
      void api
        .createConversation({ type: 'direct', peer_id: peer })
        .then((c) => {
          remember(c);
          return open(c.conversation_id);
        })
        .catch(fail),
    newGroup: (title: string, members: string[]) =>
      void api
        .createConversation({ type: 'group', title, member_ids: members })
        .then((c) => {
          remember(c);
          return open(c.conversation_id);
        })
        .catch(fail),
  };
  const controls = messageControls({
    state,
    client,
    api,
    render: () => render(),
    details,
    report,
    fail,
    fillComposer: (text) => pane.fill(text),
    focusThread: () => thread.focus(),
  });

  const governance = governanceControls({ state, api, render: () => render(), remember, report });

  const pane = conversationPane({
    ...controls.actions,
    ...governance.header,
    back: close,
    send: (text) => {
      const id = state.openId;
      if (!id) return;
      stopTyping();
      if (state.editing) controls.saveEdit(text);
      else controls.sendText(id, text);
    },
    cancelEdit: controls.cancelEdit,
    typing: () => {
      const id = state.openId;
      if (!id) return;
      if (Date.now() - typingSentAt > TYPING_REFRESH_MS) {
        client.typing(id, 'start');
        typingSentAt = Date.now();
      }
      clearTimeout(typingIdle);
      typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
    },
    loadOlder: () => void loadOlder().catch(fail),
  });
  const thread = threadPanel({
    ...controls.actions,
    reply: (text) => {
      if (state.thread) controls.sendText(state.thread.conversationId, text, state.thread.seq);
    },
    closeThread: () => {
      state.thread = null;
      render();
    },
  });
  const members = membersPanel(governance.members);

  const signOut = () => {
    client.close();
    forgetSession();
    signedOut();
  };
  const connection = h('span', { class: 'connection', 'data-state': client.state }, client.state);
  const notice = h('span', { class: 'notice', role: 'status' });
  const list = conversationList(actions);
  const main = h('main', {}, h('aside', {}, newConversationForms(actions), list), pane.element, thread.element, members.element);
  replaceChildren(
    root,
    h(
      'div',
      { class: 'chat' },
      h(
        'header',
        { class: 'top' },
        h('strong', {}, 'Natter'),
        h('span', { class: 'me' }, `${session.userId} · ${session.deviceId}`),
        searchBox({
          search: (q) => api.search(q, { limit: 20 }),
          jump: (id, seq) => void jumpTo(id, seq).catch(fail),
          nameOf: (id) => {
            const c = state.conversations.get(id);
            return c ? state.nameOf(c) : id;
          },
        }),
        connection,
        notice,
        h('button', { class: 'sign-out', onclick: signOut as EventListener }, 'Sign out'),
      ),
      main,
    ),
  );

  // One render per turn, however many events arrived in it.
  let scheduled = false;
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      renderConversationList(list, state, actions, inbox.hasMore());
      pane.render(state, client.pending());
      foundElement()?.classList.add('found');
      thread.render(state, client.pending());
      members.render(state);
      main.classList.toggle('with-panel', !thread.element.hidden || !members.element.hidden);
      main.classList.toggle('conversation-open', state.openId !== null);
    });
  };

  void (async () => {
    await Promise.all([
      refreshInbox(),
      api.blocks().then(({ items }) => {
        for (const user of items) state.blocked.add(user);
      }),
    ]);
    render();
    const fromHash = decodeURIComponent(location.hash.slice(1));
    if (fromHash && state.conversations.has(fromHash)) await open(fromHash);
  })().catch(fail);
  void client.connect();
};
