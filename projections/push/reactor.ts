import type { DirectoryStore, InboxStore, ConversationInfo } from '../../ports/read-models.ts';
import type { LiveDevices, PushNotification, PushRegistry } from '../../ports/push.ts';
import type { Reactor, Recorded } from '../runtime.ts';
import type { MessageSent } from '../../contracts/events.ts';

type Log = { warn(obj: object, msg: string): void };

export type PushReactorOptions = {
  directory: DirectoryStore;
  inbox: InboxStore;
  live: LiveDevices;
  registry: PushRegistry;
  send(target: Parameters<PushRegistry['register']>[0], notification: PushNotification): void;
  /** At most one push per user per conversation per window; what arrives inside it is collapsed into one. */
  collapseMs: number;
  includeContent: boolean;
  /** Messages older than this are not pushed (a catch-up after downtime replays them). */
  maxAgeMs: number;
  log: Log;
  clock?: () => number;
};

type Window = { timer: NodeJS.Timeout; pending: MessageSent[] };

const CONTENT_CHARS = 200;

const mediaNoun = (content: string) => {
  try {
    const type = String((JSON.parse(content) as { content_type?: unknown }).content_type ?? '');
    return type.startsWith('image/') ? 'a photo' : type.startsWith('video/') ? 'a video' : type.startsWith('audio/') ? 'a voice message' : 'a file';
  } catch {
    return 'a file';
  }
};

/** The words of a notification. Content only when configured, never for ciphertext. */
export const describe = (info: Pick<ConversationInfo, 'kind' | 'title'> | null, messages: readonly MessageSent[], unread: number, includeContent: boolean) => {
  const last = messages[messages.length - 1]!;
  const senders = new Set(messages.map((m) => m.sender_id));
  const sender = last.sender_id;
  const group = info?.kind === 'group';
  const count = Math.max(unread, messages.length);
  let body: string;
  if (count <= 1) {
    const what = last.content_type === 'text' && includeContent ? null : last.content_type === 'media' && includeContent ? `sent ${mediaNoun(last.content)}` : group ? 'sent a message' : 'sent you a message';
    const text = what === null ? last.content.slice(0, CONTENT_CHARS) : what;
    body = group ? `${sender}${what === null ? ':' : ''} ${text}` : what === null ? text : `${sender} ${text}`;
  } else if (senders.size === 1) {
    body = group ? `${sender} sent ${count} messages` : `${sender} sent you ${count} messages`;
  } else {
    body = `${count} new messages`;
  }
  return { title: group ? (info?.title ?? 'Group') : sender, body, content_included: includeContent && count <= 1 && last.content_type === 'text' };
};

/**
 * Pushes new messages to members with no live device. The first message of a conversation pushes at
 * once; the ones that follow within `collapseMs` are collapsed into one notification at the end of
 * the window ("alice sent you 5 messages"), carrying the unread counts from the inbox read model.
 * A member who reads the conversation, or comes online, meanwhile gets no trailing push. Network
 * work happens in the dispatcher, never on the projection path.
 */
export const pushReactor = (options: PushReactorOptions): Reactor & { stop(): void } => {
  const clock = options.clock ?? Date.now;
  const windows = new Map<string, Window>();
  const info = new Map<string, ConversationInfo | null>();
  const keyOf = (userId: string, conversationId: string) => `${userId}\u0000${conversationId}`;

  const unreadOf = async (userId: string, conversationId: string) => {
    let badge = 0;
    let unread = 0;
    let cursor: string | undefined;
    // A badge over many pages is rare; 10 pages of 200 conversations is plenty.
    for (let page = 0; page < 10; page++) {
      const result = await options.inbox.list(userId, { limit: 200, ...(cursor ? { cursor } : {}) });
      for (const entry of result.items) {
        badge += entry.unread_count;
        if (entry.conversation_id === conversationId) unread = entry.unread_count;
      }
      if (!result.next_cursor) break;
      cursor = result.next_cursor;
    }
    return { badge, unread };
  };

  const conversationInfo = async (conversationId: string) => {
    if (!info.has(conversationId)) {
      info.set(conversationId, await options.directory.get(conversationId));
      if (info.size > 10_000) info.delete(info.keys().next().value!);
    }
    return info.get(conversationId)!;
  };

  const notify = async (userId: string, conversationId: string, messages: MessageSent[]) => {
    const targets = await options.registry.targetsOf([userId]);
    if (targets.length === 0) return;
    const { badge, unread } = await unreadOf(userId, conversationId);
    // Read on another device meanwhile: nothing left to tell.
    if (unread === 0) return;
    const words = describe(await conversationInfo(conversationId), messages, unread, options.includeContent);
    const notification: PushNotification = {
      conversation_id: conversationId, title: words.title, body: words.body, badge, unread,
      seq: messages[messages.length - 1]!.seq, collapse_key: conversationId,
    };
    for (const target of targets) options.send(target, notification);
  };

  const background = (work: Promise<void>) => { work.catch((error) => options.log.warn({ err: error }, 'push notification failed')); };

  const openWindow = (userId: string, conversationId: string) => {
    const key = keyOf(userId, conversationId);
    const timer = setTimeout(() => background(closeWindow(userId, conversationId)), options.collapseMs);
    timer.unref();
    windows.set(key, { timer, pending: [] });
  };

  const closeWindow = async (userId: string, conversationId: string) => {
    const key = keyOf(userId, conversationId);
    const window = windows.get(key);
    windows.delete(key);
    if (!window || window.pending.length === 0) return;
    if ((await options.live.liveUsers([userId])).has(userId)) return;
    // The collapsed push opens the next window, so a steady stream still gets one push per window.
    openWindow(userId, conversationId);
    await notify(userId, conversationId, window.pending);
  };

  const offer = (userId: string, message: MessageSent) => {
    const window = windows.get(keyOf(userId, message.conversation_id));
    if (window) { window.pending.push(message); return; }
    openWindow(userId, message.conversation_id);
    background(notify(userId, message.conversation_id, [message]));
  };

  const react = async (event: Recorded) => {
    switch (event.type) {
      case 'MessageSent': {
        const message = event.data;
        if (clock() - message.timestamp > options.maxAgeMs) return;
        const members = (await options.directory.members(message.conversation_id)).filter((m) => m !== message.sender_id);
        if (members.length === 0) return;
        const live = await options.live.liveUsers(members);
        const offline = members.filter((userId) => !live.has(userId));
        if (offline.length === 0) return;
        // Only members with a registered device cost a window and a timer (most of a big group has none).
        const reachable = new Set((await options.registry.targetsOf(offline)).map((t) => t.user_id));
        for (const userId of offline) if (reachable.has(userId)) offer(userId, message);
        return;
      }
      case 'MessageRead': {
        const window = windows.get(keyOf(event.data.user_id, event.data.conversation_id));
        if (window) window.pending = window.pending.filter((m) => m.seq > event.data.up_to_seq);
        return;
      }
      case 'MembersAdded':
      case 'MemberRemoved':
      case 'ConversationCreated':
        info.delete(event.data.conversation_id);
        return;
    }
  };

  return {
    name: 'push',
    react: async (events) => { for (const event of events) await react(event); },
    stop: () => { for (const window of windows.values()) clearTimeout(window.timer); windows.clear(); },
  };
};
