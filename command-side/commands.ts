import type { ContentType } from '../contracts/primitives.ts';
import { NatterError } from '../contracts/errors.ts';
import type { EventStore } from '../ports/event-store.ts';
import type { ConversationView, LiveFeed } from '../ports/live-feed.ts';
import type { NatterEvent } from '../contracts/events.ts';
import { createConversationHandler, type Handled } from './conversations/handle.ts';
import { createReceiptHandler } from './receipts/handle.ts';
import { createReactionHandler } from './reactions/handle.ts';
import { createUserHandler } from './users/handle.ts';
import { assertMember, dedupKey, type Conversation } from './conversations/decider.ts';
import type { RateLimit, RateLimiter } from '../ports/rate-limiter.ts';
import { MAX_CONTENT_LENGTH } from '../contracts/primitives.ts';
import { directConversationId, newGroupId, newMessageId } from './ids.ts';
import type { Actor } from './actor.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2})$/;

export type Ack = { conversation_id: string; client_msg_id: string; message_id: string; seq: number; timestamp: number; position: number };
export type Edited = { conversation_id: string; seq: number; edited_at: number; position: number };
export type ConversationSummary = {
  conversation_id: string;
  type: 'direct' | 'group';
  title: string | null;
  members: string[];
  admins: string[];
  created_by: string;
  retention_days: number | null;
};

const summary = (state: Conversation): ConversationSummary => ({
  conversation_id: state.conversation_id,
  type: state.kind,
  title: state.title,
  members: [...state.members].sort(),
  admins: [...state.admins].sort(),
  created_by: state.created_by,
  retention_days: state.retention_days,
});

/**
 * The command side's one entry point, shared by the WebSocket gateway and the REST commands. Ids
 * and time are chosen here and handed to the pure deciders.
 */
export type CommandOptions = {
  maxGroupMembers: number;
  maxMessageChars?: number;
  /** Per-user send budget, shared by every device and by REST. */
  limiter?: RateLimiter;
  messageLimit?: RateLimit;
  /** Per conversation, whoever sends (a hot conversation): enforced where the conversation is written, its owner in the cluster. */
  conversationLimit?: RateLimit;
  onRateLimited?(kind: string): void;
  onConflict?(): void;
  /** How long after sending the author may edit a message. Default 24 hours. */
  editWindowMs?: number;
  /** Destroys what makes the erased user's content readable (their data keys), once UserErased is durable. Without it, erasure is refused. */
  shred?(userId: string): Promise<void>;
  /** The server's retention (null: forever) and the length of a retention day (shortened in tests). */
  retention?: { defaultDays: number | null; dayMs: number };
  clock?: () => number;
  /** Told of every append with live frames once it is durable (the cluster's fast path); none in the embedded profile. */
  live?: LiveFeed;
};

export type NewMessage = {
  conversation_id: string;
  client_msg_id: string;
  content: string;
  content_type?: ContentType;
  reply_to_seq?: number;
  mentions?: string[];
};

export const createCommands = (eventStore: EventStore, options: CommandOptions) => {
  const clock = options.clock ?? Date.now;
  const maxChars = options.maxMessageChars ?? MAX_CONTENT_LENGTH;
  const { limiter, messageLimit } = options;

  const checkSend = async (actor: Actor, content: string, contentType: ContentType, conversationId: string) => {
    // The server never looks inside ciphertext, but it must at least be the base64 clients exchange.
    if (contentType === 'ciphertext' && !BASE64.test(content)) throw new NatterError('invalid_request', 'ciphertext content must be base64');
    // Characters are code points, as the schema counts them (an emoji is one, not two UTF-16 units).
    if (content.length > maxChars) {
      let chars = 0;
      for (const _ of content) chars++;
      if (chars > maxChars) throw new NatterError('message_too_large', `content is ${chars} characters, the limit is ${maxChars}`);
    }
    if (!limiter) return;
    // Both buckets in one step (one round trip to Redis in the cluster), and a refused send takes no token from either.
    const takes = [
      ...(messageLimit ? [{ kind: 'messages', key: `messages:${actor.user_id}`, limit: messageLimit }] : []),
      ...(options.conversationLimit ? [{ kind: 'conversation', key: `conversation:${conversationId}`, limit: options.conversationLimit }] : []),
    ];
    if (takes.length === 0) return;
    const decision = await limiter.takeAll(takes);
    if (decision.ok) return;
    const { kind } = takes[decision.failed]!;
    options.onRateLimited?.(kind);
    const wait = `retry in ${decision.retryAfterMs} ms`;
    throw new NatterError('rate_limited', kind === 'messages' ? `too many messages; ${wait}` : `this conversation is over its send rate; ${wait}`, {
      retry_after_ms: decision.retryAfterMs,
    });
  };
  const onConflict = options.onConflict ? { onConflict: options.onConflict } : {};
  const conversations = createConversationHandler(eventStore, onConflict);
  const markReceipt = createReceiptHandler(eventStore, conversations);
  const reactions = createReactionHandler(eventStore, conversations, onConflict);
  const users = createUserHandler(eventStore, conversations, onConflict);
  /** Whether `userId` has blocked `other`, from their own settings (the conversation's owner reads them). */
  const hasBlocked = async (userId: string, other: string) => (await users.state(userId)).blocks.has(other);
  /** In a direct conversation: has the other member blocked the sender? */
  const blockedInDirect = async (conversationId: string, sender: string) => {
    if (!conversationId.startsWith('d_')) return false;
    const state = await conversations.state(conversationId);
    const other = state.kind === 'direct' ? [...state.members].find((m) => m !== sender) : undefined;
    return other !== undefined && state.members.has(sender) && (await hasBlocked(other, sender));
  };
  const settle = async (handled: { position: number }) => ({ position: handled.position });
  const editWindowMs = options.editWindowMs ?? 24 * 60 * 60 * 1000;
  /**
   * Hands what was just appended to the fast path, in the same turn as the append resolves: appends
   * to a stream resolve in order, so their frames leave in order.
   */
  const announce = (events: readonly NatterEvent[], position: number, conversation: ConversationView) => {
    if (!options.live || events.length === 0) return;
    try {
      options.live.appended(events, position, conversation);
    } catch {
      // The append is durable and the projectors deliver its frames anyway; the ack must not fail here.
    }
  };
  const announced = <T extends Handled>(handled: T): T => {
    announce(handled.events, handled.position, handled.snapshot ?? handled.state);
    return handled;
  };
  const withPosition = (handled: Handled) => {
    announced(handled);
    return { conversation: summary(handled.state), position: handled.position };
  };

  return {
    createDirect: async (actor: Actor, peerId: string) =>
      withPosition(
        await conversations.handle({
          type: 'CreateConversation',
          conversation_id: directConversationId(actor.user_id, peerId),
          kind: 'direct',
          title: null,
          created_by: actor.user_id,
          member_ids: [peerId],
          max_members: 2,
          timestamp: clock(),
          blocked: peerId !== actor.user_id && (await hasBlocked(peerId, actor.user_id)),
        }),
      ),

    createGroup: async (actor: Actor, title: string, memberIds: string[]) =>
      withPosition(
        await conversations.handle({
          type: 'CreateConversation',
          conversation_id: newGroupId(),
          kind: 'group',
          title,
          created_by: actor.user_id,
          member_ids: memberIds,
          max_members: options.maxGroupMembers,
          timestamp: clock(),
        }),
      ),

    addMembers: async (actor: Actor, conversationId: string, userIds: string[]) =>
      withPosition(
        await conversations.handle({
          type: 'AddMembers',
          conversation_id: conversationId,
          user_ids: userIds,
          by: actor.user_id,
          max_members: options.maxGroupMembers,
          timestamp: clock(),
        }),
      ),

    removeMember: async (actor: Actor, conversationId: string, userId: string) =>
      withPosition(
        await conversations.handle({
          type: 'RemoveMember',
          conversation_id: conversationId,
          user_id: userId,
          by: actor.user_id,
          timestamp: clock(),
        }),
      ),

    /** Resolves only once the message is durable; a retry returns the first ack and appends nothing. */
    sendMessage: async (actor: Actor, message: NewMessage): Promise<Ack> => {
      await checkSend(actor, message.content, message.content_type ?? 'text', message.conversation_id);
      const handled = announced(
        await conversations.handle({
          type: 'SendMessage',
          conversation_id: message.conversation_id,
          message_id: newMessageId(),
          sender_id: actor.user_id,
          sender_device_id: actor.device_id,
          client_msg_id: message.client_msg_id,
          content: message.content,
          content_type: message.content_type ?? 'text',
          timestamp: clock(),
          ...(message.reply_to_seq !== undefined ? { reply_to_seq: message.reply_to_seq } : {}),
          ...(message.mentions !== undefined ? { mentions: message.mentions } : {}),
          ...((await blockedInDirect(message.conversation_id, actor.user_id)) ? { blocked: true } : {}),
        }),
      );
      const sent = handled.events[0];
      if (sent?.type === 'MessageSent') {
        const { message_id, seq, timestamp } = sent.data;
        return { conversation_id: message.conversation_id, client_msg_id: message.client_msg_id, message_id, seq, timestamp, position: handled.position };
      }
      const first = handled.state.sent.get(dedupKey(actor.user_id, message.client_msg_id));
      if (!first) throw new NatterError('internal', 'retry matched no earlier message');
      return { conversation_id: message.conversation_id, client_msg_id: message.client_msg_id, ...first, position: 0 };
    },

    /** Durable before it resolves; the content rules of a send apply (size, ciphertext base64). Only text and ciphertext can be edited. */
    editMessage: async (actor: Actor, conversationId: string, seq: number, content: string): Promise<Edited> => {
      const message = (await conversations.state(conversationId)).messages.get(seq);
      // A ciphertext message is edited with ciphertext; the decider rules on everything else.
      await checkSend(actor, content, message?.content_type === 'ciphertext' ? 'ciphertext' : 'text', conversationId);
      const handled = announced(
        await conversations.handle({
          type: 'EditMessage',
          conversation_id: conversationId,
          seq,
          by: actor.user_id,
          content,
          edit_window_ms: editWindowMs,
          timestamp: clock(),
        }),
      );
      const edited = handled.events[0];
      return {
        conversation_id: conversationId,
        seq,
        edited_at: edited?.type === 'MessageEdited' ? edited.data.timestamp : clock(),
        position: handled.position,
      };
    },

    /** Idempotent: deleting a deleted message succeeds and appends nothing. */
    deleteMessage: async (actor: Actor, conversationId: string, seq: number) => {
      const handled = announced(
        await conversations.handle({ type: 'DeleteMessage', conversation_id: conversationId, seq, by: actor.user_id, timestamp: clock() }),
      );
      return { position: handled.position };
    },

    /** Idempotent both ways: adding a reaction that is there, or removing one that is not, appends nothing. */
    react: async (actor: Actor, conversationId: string, seq: number, emoji: string, op: 'add' | 'remove') => {
      // The members its frames go to: the conversation's state, which the reaction is decided on anyway.
      const conversation = await conversations.state(conversationId);
      const handled = await reactions.handle({ type: 'React', conversation_id: conversationId, seq, user_id: actor.user_id, emoji, op, timestamp: clock() });
      announce(handled.events, handled.position, conversation);
      return { position: handled.position };
    },

    grantAdmin: async (actor: Actor, conversationId: string, userId: string) =>
      withPosition(await conversations.handle({ type: 'GrantAdmin', conversation_id: conversationId, user_id: userId, by: actor.user_id, timestamp: clock() })),
    revokeAdmin: async (actor: Actor, conversationId: string, userId: string) =>
      withPosition(
        await conversations.handle({ type: 'RevokeAdmin', conversation_id: conversationId, user_id: userId, by: actor.user_id, timestamp: clock() }),
      ),
    renameConversation: async (actor: Actor, conversationId: string, title: string) =>
      withPosition(await conversations.handle({ type: 'RenameConversation', conversation_id: conversationId, title, by: actor.user_id, timestamp: clock() })),
    /** null: back to the server's default. */
    setRetention: async (actor: Actor, conversationId: string, days: number | null) =>
      withPosition(
        await conversations.handle({ type: 'SetRetention', conversation_id: conversationId, retention_days: days, by: actor.user_id, timestamp: clock() }),
      ),
    /** The retention sweep's step for one conversation: appends MessagesExpired when messages are due. */
    expireMessages: async (conversationId: string) => {
      const retention = options.retention ?? { defaultDays: null, dayMs: 86_400_000 };
      const handled = await conversations.handle({
        type: 'ExpireMessages',
        conversation_id: conversationId,
        default_days: retention.defaultDays,
        day_ms: retention.dayMs,
        timestamp: clock(),
      });
      return { position: handled.position };
    },

    /** `until` null: until unmuted. Per user, across devices; it runs out by itself. */
    mute: async (actor: Actor, conversationId: string, until: number | null) =>
      settle(await users.handle({ type: 'MuteConversation', user_id: actor.user_id, conversation_id: conversationId, until, timestamp: clock() })),
    unmute: async (actor: Actor, conversationId: string) =>
      settle(await users.handle({ type: 'UnmuteConversation', user_id: actor.user_id, conversation_id: conversationId, timestamp: clock() })),
    block: async (actor: Actor, userId: string) =>
      settle(await users.handle({ type: 'BlockUser', user_id: actor.user_id, blocked_user_id: userId, timestamp: clock() })),
    unblock: async (actor: Actor, userId: string) =>
      settle(await users.handle({ type: 'UnblockUser', user_id: actor.user_id, blocked_user_id: userId, timestamp: clock() })),
    setPrivacy: async (actor: Actor, lastSeen: 'everyone' | 'contacts' | 'nobody') =>
      settle(await users.handle({ type: 'SetPrivacy', user_id: actor.user_id, last_seen: lastSeen, timestamp: clock() })),

    /**
     * Erasure: UserErased is appended (so every replay agrees the user is gone), then the user's data
     * keys are destroyed, which makes everything they wrote unreadable wherever it is kept. Asked
     * again, it destroys again (idempotent), in case a crash came between the two.
     */
    eraseUser: async (userId: string, by: 'user' | 'operator') => {
      if (!options.shred)
        throw new NatterError(
          'erasure_unavailable',
          'erasure needs message content encryption (NATTER_CONTENT_ENCRYPTION=on): without it the log keeps what was said',
        );
      const handled = await users.handle({ type: 'EraseUser', user_id: userId, by, timestamp: clock() });
      await options.shred?.(userId);
      return { position: handled.position };
    },

    /** The members of a conversation the actor belongs to (for ephemeral frames such as typing). */
    membersFor: async (actor: Actor, conversationId: string): Promise<ReadonlySet<string>> => {
      const state = await conversations.state(conversationId);
      assertMember(state, actor.user_id, conversationId);
      return state.members;
    },

    /** The id of the direct conversation between the actor and a peer (derived, so every process agrees). */
    directIdOf: (actor: Actor, peerId: string) => directConversationId(actor.user_id, peerId),

    /** Drops what this process cached about a conversation (or all), so the next command reads the stream. */
    forget: (conversationId?: string) => {
      conversations.forget(conversationId);
      reactions.forget(conversationId);
      // User settings are keyed by user, not conversation: all go when ownership moves.
      if (conversationId === undefined) users.forget();
    },

    markReceipt: async (actor: Actor, conversationId: string, status: 'delivered' | 'read', upToSeq: number) => {
      const marked = await markReceipt({
        type: status === 'read' ? 'MarkRead' : 'MarkDelivered',
        conversation_id: conversationId,
        user_id: actor.user_id,
        up_to_seq: upToSeq,
        timestamp: clock(),
      });
      announce(marked.events, marked.position, marked.conversation);
      return { appended: marked.events.length > 0, position: marked.position };
    },
  };
};
export type Commands = ReturnType<typeof createCommands>;
