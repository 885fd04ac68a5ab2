import type { InboxItem, Message, PresenceState } from '@natter/client';
import type { Watermarks } from './ticks.ts';

export type ConversationSummary = {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  members: string[] | null;
  /** Group admins, known with the members. */
  admins: string[] | null;
  unread: number;
  /** Unread messages that mention me. */
  mentions: number;
  preview: string | null;
  /** The seq the preview shows, so that an edit or delete of it updates the preview. */
  lastSeq: number | null;
  lastActivity: number;
  muted: boolean;
  /** When the mute ends; null while muted until unmuted. */
  mutedUntil: number | null;
};

/** A message by where it lives: edits, reactions and threads point at one this way. */
export type MessageRef = { conversationId: string; seq: number };
const keyOf = ({ conversationId, seq }: MessageRef) => `${conversationId}:${seq}`;
export const DELETED = 'message deleted';

/** Everything the screens show; the controller mutates it and asks for a render. */
export class ChatState {
  readonly conversations = new Map<string, ConversationSummary>();
  /** Loaded messages of each conversation, ascending by seq and unique by message_id. */
  readonly messages = new Map<string, Message[]>();
  readonly hasOlder = new Map<string, boolean>();
  readonly receipts = new Map<string, Map<string, Watermarks>>();
  readonly typing = new Map<string, Set<string>>();
  readonly presence = new Map<string, PresenceState>();
  /** Loaded threads: the replies to a message, ascending by seq (they may be older than the loaded page). */
  readonly threads = new Map<string, Message[]>();
  /** The users I blocked. */
  readonly blocked = new Set<string>();
  openId: string | null = null;
  /** The open thread, the message being edited in the composer, the message whose emoji picker is open. */
  thread: MessageRef | null = null;
  editing: MessageRef | null = null;
  picker: MessageRef | null = null;
  /** The open group's members panel (in the thread's place), and the open conversation's mute menu. */
  membersOpen = false;
  muteMenu = false;

  constructor(readonly me: string) {}

  fromInbox(item: InboxItem): void {
    const known = this.conversations.get(item.conversation_id);
    this.conversations.set(item.conversation_id, {
      id: item.conversation_id,
      kind: item.type,
      title: item.title,
      members: known?.members ?? null,
      admins: known?.admins ?? null,
      unread: item.unread_count,
      mentions: item.unread_mentions,
      muted: item.muted,
      mutedUntil: item.muted_until,
      preview: item.last_message ? (item.last_message.deleted ? DELETED : item.last_message.preview) : null,
      lastSeq: item.last_message?.seq ?? null,
      lastActivity: item.last_activity,
    });
  }

  /** Conversations by latest activity, as the inbox orders them. */
  sorted(): ConversationSummary[] {
    return [...this.conversations.values()].sort((a, b) => b.lastActivity - a.lastActivity);
  }

  /** The other member of a direct conversation, once its members are known. */
  peerOf(conversation: ConversationSummary): string | undefined {
    return conversation.kind === 'direct' ? conversation.members?.find((m) => m !== this.me) : undefined;
  }

  /** A mute runs out by itself; the inbox says so on its next read, and the page does not wait for it. */
  isMuted(conversation: ConversationSummary, now = Date.now()): boolean {
    return conversation.muted && (conversation.mutedUntil === null || conversation.mutedUntil > now);
  }

  isAdmin(conversation: ConversationSummary): boolean {
    return conversation.admins?.includes(this.me) ?? false;
  }

  nameOf(conversation: ConversationSummary): string {
    return conversation.title ?? this.peerOf(conversation) ?? 'direct chat';
  }

  /** Adds messages (live, synced or a page of history); returns those that were new. */
  addMessages(conversationId: string, incoming: Message[]): Message[] {
    const list = this.messages.get(conversationId) ?? [];
    const ids = new Set(list.map((m) => m.message_id));
    const fresh = incoming.filter((m) => !ids.has(m.message_id));
    if (fresh.length === 0) return [];
    this.messages.set(
      conversationId,
      [...list, ...fresh].sort((a, b) => a.seq - b.seq),
    );
    return fresh;
  }

  /** Every loaded copy of a message (the conversation's page, a thread) goes through `apply`. */
  change(ref: MessageRef, apply: (message: Message) => Message): void {
    const lists = [this.messages.get(ref.conversationId), ...[...this.threads].filter(([k]) => k.startsWith(`${ref.conversationId}:`)).map(([, l]) => l)];
    for (const list of lists) {
      const index = list?.findIndex((m) => m.seq === ref.seq) ?? -1;
      if (list && index >= 0) list[index] = apply(list[index]!);
    }
  }

  find(ref: MessageRef): Message | undefined {
    return (
      this.messages.get(ref.conversationId)?.find((m) => m.seq === ref.seq) ??
      [...this.threads.values()].flat().find((m) => m.conversation_id === ref.conversationId && m.seq === ref.seq)
    );
  }

  /** A reply not seen before: its parent counts one more, and an open thread shows it. */
  addReply(reply: Message): void {
    const parent = { conversationId: reply.conversation_id, seq: reply.reply_to_seq! };
    this.change(parent, (m) => ({ ...m, reply_count: m.reply_count + 1 }));
    this.addToThread(parent, [reply]);
  }

  threadOf(ref: MessageRef): Message[] | undefined {
    return this.threads.get(keyOf(ref));
  }

  addToThread(ref: MessageRef, replies: Message[]): void {
    const list = this.threads.get(keyOf(ref));
    if (!list) return;
    const ids = new Set(list.map((m) => m.message_id));
    for (const reply of replies) {
      if (ids.has(reply.message_id)) continue;
      ids.add(reply.message_id);
      list.push(reply);
    }
    list.sort((a, b) => a.seq - b.seq);
  }

  /**
   * The thread as the server listed it, plus the replies this page already has: one that arrived
   * live while the list was on its way, and, in the cluster, one the history projection has not
   * reached yet (live frames can be ahead of history).
   */
  loadThread(ref: MessageRef, replies: Message[]): void {
    const known = [...(this.threads.get(keyOf(ref)) ?? []), ...(this.messages.get(ref.conversationId) ?? []).filter((m) => m.reply_to_seq === ref.seq)];
    this.threads.set(keyOf(ref), []);
    this.addToThread(ref, [...replies, ...known]);
  }

  watermark(conversationId: string, userId: string, status: 'delivered' | 'read', upToSeq: number): void {
    const marks = this.receipts.get(conversationId) ?? new Map<string, Watermarks>();
    this.receipts.set(conversationId, marks);
    const current = marks.get(userId) ?? { delivered: 0, read: 0 };
    // Reading implies delivery, and watermarks only move forward.
    const read = status === 'read' ? Math.max(current.read, upToSeq) : current.read;
    marks.set(userId, { read, delivered: Math.max(current.delivered, read, status === 'delivered' ? upToSeq : 0) });
  }

  /** Everyone's watermarks except mine: what my ticks depend on. */
  othersWatermarks(conversationId: string): Watermarks[] {
    const members = this.conversations.get(conversationId)?.members ?? [];
    const marks = this.receipts.get(conversationId);
    return members.filter((m) => m !== this.me).map((m) => marks?.get(m) ?? { delivered: 0, read: 0 });
  }

  setTyping(conversationId: string, userId: string, typing: boolean): void {
    const users = this.typing.get(conversationId) ?? new Set<string>();
    if (typing) users.add(userId);
    else users.delete(userId);
    this.typing.set(conversationId, users);
  }
}
