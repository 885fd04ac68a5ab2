import { Type, type Static } from 'typebox';
import { ConversationId, UserId, DeviceId, ClientMsgId, MessageId, Seq, Watermark, Timestamp, ContentType, Content, Title } from './primitives.ts';

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
});
export type MessageSent = Static<typeof MessageSent>;

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

export type ConversationEvent =
  | { type: 'ConversationCreated'; data: ConversationCreated }
  | { type: 'MembersAdded'; data: MembersAdded }
  | { type: 'MemberRemoved'; data: MemberRemoved }
  | { type: 'MessageSent'; data: MessageSent };

export type ReceiptEvent =
  | { type: 'MessageDelivered'; data: MessageDelivered }
  | { type: 'MessageRead'; data: MessageRead };

export type NatterEvent = ConversationEvent | ReceiptEvent;
export type NatterEventType = NatterEvent['type'];

export const eventSchemas = {
  ConversationCreated, MembersAdded, MemberRemoved, MessageSent, MessageDelivered, MessageRead,
} as const;

/**
 * Messages and membership live in `conversation-<id>`; receipts live in `receipts-<id>`, so that a hot
 * group's watermarks never contend with (block, fail or reorder) its message appends.
 */
export const conversationStream = (conversationId: string) => `conversation-${conversationId}`;
export const receiptsStream = (conversationId: string) => `receipts-${conversationId}`;
