import { Type, type Static } from 'typebox';
import { ConversationId, UserId, DeviceId, ClientMsgId, MessageId, Seq, Watermark, Timestamp, ContentType, Content, Title } from './primitives.ts';
import { Emoji } from './reactions.ts';

// Events are facts: past tense, never rejected by a reader, and the payload projections read.

export const ConversationKind = Type.Union([Type.Literal('direct'), Type.Literal('group')]);
export type ConversationKind = Static<typeof ConversationKind>;

export const ConversationCreated = Type.Object({
  conversation_id: ConversationId,
  kind: ConversationKind,
  title: Type.Union([Title, Type.Null()]),
  created_by: UserId,
  member_ids: Type.Array(UserId, { minItems: 1 }),
  timestamp: Timestamp,
});
export type ConversationCreated = Static<typeof ConversationCreated>;

export const MembersAdded = Type.Object({
  conversation_id: ConversationId,
  user_ids: Type.Array(UserId, { minItems: 1 }),
  added_by: UserId,
  timestamp: Timestamp,
});
export type MembersAdded = Static<typeof MembersAdded>;

export const MemberRemoved = Type.Object({
  conversation_id: ConversationId,
  user_id: UserId,
  removed_by: UserId,
  timestamp: Timestamp,
});
export type MemberRemoved = Static<typeof MemberRemoved>;

/** At most this many users may be mentioned in one message. */
export const MAX_MENTIONS = 50;
export const Mentions = Type.Array(UserId, { maxItems: MAX_MENTIONS });

export const MessageSent = Type.Object({
  conversation_id: ConversationId,
  message_id: MessageId,
  seq: Seq,
  sender_id: UserId,
  sender_device_id: DeviceId,
  client_msg_id: ClientMsgId,
  content: Content,
  content_type: ContentType,
  timestamp: Timestamp,
  /** The message this one replies to (its thread's root), in the same conversation. Absent in events written before replies existed. */
  reply_to_seq: Type.Optional(Seq),
  /** Members the message mentions. Absent in events written before mentions existed. */
  mentions: Type.Optional(Mentions),
});
export type MessageSent = Static<typeof MessageSent>;

/** The author changed a message's text: it keeps its seq; readers show `content` from now on. */
export const MessageEdited = Type.Object({
  conversation_id: ConversationId,
  seq: Seq,
  edited_by: UserId,
  content: Content,
  /** The edited message's own type (`text` or `ciphertext`; media cannot be edited), so readers never show ciphertext as text. */
  content_type: ContentType,
  timestamp: Timestamp,
});
export type MessageEdited = Static<typeof MessageEdited>;

/** A message was deleted (by its author or an admin): it keeps its seq; its text, mentions and reactions are gone. */
export const MessageDeleted = Type.Object({
  conversation_id: ConversationId,
  seq: Seq,
  deleted_by: UserId,
  timestamp: Timestamp,
});
export type MessageDeleted = Static<typeof MessageDeleted>;

/** Reactions live in `reactions-<id>`: like receipts, a busy group's reactions never contend with its messages. */
export const ReactionChanged = Type.Object({
  conversation_id: ConversationId,
  seq: Seq,
  user_id: UserId,
  emoji: Emoji,
  timestamp: Timestamp,
});
export const ReactionAdded = ReactionChanged;
export type ReactionAdded = Static<typeof ReactionAdded>;
export const ReactionRemoved = ReactionChanged;
export type ReactionRemoved = Static<typeof ReactionRemoved>;

/** Receipts are watermarks: everything up to and including `up_to_seq`. */
export const ReceiptWatermark = Type.Object({
  conversation_id: ConversationId,
  user_id: UserId,
  up_to_seq: Watermark,
  timestamp: Timestamp,
});
export const MessageDelivered = ReceiptWatermark;
export type MessageDelivered = Static<typeof MessageDelivered>;
export const MessageRead = ReceiptWatermark;
export type MessageRead = Static<typeof MessageRead>;

/** A group member became an admin: granted by an admin, or by succession when the last admin left. */
export const AdminGranted = Type.Object({
  conversation_id: ConversationId,
  user_id: UserId,
  /** The admin who granted it; for a succession, the admin who left. */
  granted_by: UserId,
  reason: Type.Union([Type.Literal('granted'), Type.Literal('succession')]),
  timestamp: Timestamp,
});
export type AdminGranted = Static<typeof AdminGranted>;

export const AdminRevoked = Type.Object({
  conversation_id: ConversationId,
  user_id: UserId,
  revoked_by: UserId,
  timestamp: Timestamp,
});
export type AdminRevoked = Static<typeof AdminRevoked>;

export const ConversationRenamed = Type.Object({
  conversation_id: ConversationId,
  title: Title,
  renamed_by: UserId,
  timestamp: Timestamp,
});
export type ConversationRenamed = Static<typeof ConversationRenamed>;

/** How long the conversation keeps messages, chosen by an admin (null: the server's default). */
export const RetentionChanged = Type.Object({
  conversation_id: ConversationId,
  retention_days: Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()]),
  changed_by: UserId,
  timestamp: Timestamp,
});
export type RetentionChanged = Static<typeof RetentionChanged>;

/** Every message up to `up_to_seq` is older than the retention horizon: it vanishes from every read model. */
export const MessagesExpired = Type.Object({
  conversation_id: ConversationId,
  up_to_seq: Seq,
  /** Messages sent before this time are gone. */
  horizon: Timestamp,
  timestamp: Timestamp,
});
export type MessagesExpired = Static<typeof MessagesExpired>;

// Per-user settings live in `user-<id>`: a user's mutes, blocks and privacy, in one order.

/** `until` null: muted until unmuted. */
export const ConversationMuted = Type.Object({
  user_id: UserId,
  conversation_id: ConversationId,
  until: Type.Union([Timestamp, Type.Null()]),
  timestamp: Timestamp,
});
export type ConversationMuted = Static<typeof ConversationMuted>;
export const ConversationUnmuted = Type.Object({ user_id: UserId, conversation_id: ConversationId, timestamp: Timestamp });
export type ConversationUnmuted = Static<typeof ConversationUnmuted>;

export const BlockChanged = Type.Object({ user_id: UserId, blocked_user_id: UserId, timestamp: Timestamp });
export const UserBlocked = BlockChanged;
export type UserBlocked = Static<typeof UserBlocked>;
export const UserUnblocked = BlockChanged;
export type UserUnblocked = Static<typeof UserUnblocked>;

export const LastSeenVisibility = Type.Union([Type.Literal('everyone'), Type.Literal('contacts'), Type.Literal('nobody')]);
export type LastSeenVisibility = Static<typeof LastSeenVisibility>;
export const PrivacyChanged = Type.Object({ user_id: UserId, last_seen: LastSeenVisibility, timestamp: Timestamp });
export type PrivacyChanged = Static<typeof PrivacyChanged>;

/** The user asked to be erased (or an operator did): their content's keys are destroyed, their tokens refused. */
export const UserErased = Type.Object({
  user_id: UserId,
  by: Type.Union([Type.Literal('user'), Type.Literal('operator')]),
  timestamp: Timestamp,
});
export type UserErased = Static<typeof UserErased>;

export type ConversationEvent =
  | { type: 'ConversationCreated'; data: ConversationCreated }
  | { type: 'MembersAdded'; data: MembersAdded }
  | { type: 'MemberRemoved'; data: MemberRemoved }
  | { type: 'MessageSent'; data: MessageSent }
  | { type: 'MessageEdited'; data: MessageEdited }
  | { type: 'MessageDeleted'; data: MessageDeleted }
  | { type: 'AdminGranted'; data: AdminGranted }
  | { type: 'AdminRevoked'; data: AdminRevoked }
  | { type: 'ConversationRenamed'; data: ConversationRenamed }
  | { type: 'RetentionChanged'; data: RetentionChanged }
  | { type: 'MessagesExpired'; data: MessagesExpired };

export type UserEvent =
  | { type: 'ConversationMuted'; data: ConversationMuted }
  | { type: 'ConversationUnmuted'; data: ConversationUnmuted }
  | { type: 'UserBlocked'; data: UserBlocked }
  | { type: 'UserUnblocked'; data: UserUnblocked }
  | { type: 'PrivacyChanged'; data: PrivacyChanged }
  | { type: 'UserErased'; data: UserErased };

export type ReceiptEvent = { type: 'MessageDelivered'; data: MessageDelivered } | { type: 'MessageRead'; data: MessageRead };

export type ReactionEvent = { type: 'ReactionAdded'; data: ReactionAdded } | { type: 'ReactionRemoved'; data: ReactionRemoved };

export type NatterEvent = ConversationEvent | ReceiptEvent | ReactionEvent | UserEvent;
export type NatterEventType = NatterEvent['type'];

export const eventSchemas = {
  ConversationCreated,
  MembersAdded,
  MemberRemoved,
  MessageSent,
  MessageEdited,
  MessageDeleted,
  MessageDelivered,
  MessageRead,
  ReactionAdded,
  ReactionRemoved,
  AdminGranted,
  AdminRevoked,
  ConversationRenamed,
  RetentionChanged,
  MessagesExpired,
  ConversationMuted,
  ConversationUnmuted,
  UserBlocked,
  UserUnblocked,
  PrivacyChanged,
  UserErased,
} as const;

/**
 * Messages, their edits and deletes, and membership live in `conversation-<id>`; receipts live in
 * `receipts-<id>` and reactions in `reactions-<id>`, so that a hot
 * group's watermarks never contend with (block, fail or reorder) its message appends.
 */
export const conversationStream = (conversationId: string) => `conversation-${conversationId}`;
export const receiptsStream = (conversationId: string) => `receipts-${conversationId}`;
export const reactionsStream = (conversationId: string) => `reactions-${conversationId}`;
export const userStream = (userId: string) => `user-${userId}`;
