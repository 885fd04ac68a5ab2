import { randomUUID } from 'node:crypto';
import { conversationStream, reactionsStream, receiptsStream, userStream, type ConversationKind, type NatterEvent } from '../../contracts/events.ts';
import type { ContentType } from '../../contracts/primitives.ts';
import type { Recorded } from '../../ports/projector.ts';

/**
 * Natter's events for specs of projectors and reactors: short builders with the defaults a spec does
 * not care about, and a recorder that places them in a log the way the event store would.
 */

export const T0 = 1_700_000_000_000;

/** A fresh id, so that specs sharing one store never see each other's rows. */
export const uid = (prefix: string) => `${prefix}-${randomUUID().slice(0, 13)}`;

export const created = (
  conversationId: string,
  memberIds: string[],
  options: { kind?: ConversationKind; title?: string | null; by?: string; at?: number } = {},
): NatterEvent => {
  const kind = options.kind ?? 'group';
  return {
    type: 'ConversationCreated',
    data: {
      conversation_id: conversationId,
      kind,
      title: options.title !== undefined ? options.title : kind === 'group' ? 'Team' : null,
      created_by: options.by ?? memberIds[0]!,
      member_ids: memberIds,
      timestamp: options.at ?? T0,
    },
  };
};

export const added = (conversationId: string, userIds: string[], options: { by?: string; at?: number } = {}): NatterEvent => ({
  type: 'MembersAdded',
  data: { conversation_id: conversationId, user_ids: userIds, added_by: options.by ?? 'admin', timestamp: options.at ?? T0 },
});

export const removed = (conversationId: string, userId: string, options: { by?: string; at?: number } = {}): NatterEvent => ({
  type: 'MemberRemoved',
  data: { conversation_id: conversationId, user_id: userId, removed_by: options.by ?? userId, timestamp: options.at ?? T0 },
});

type SentOptions = { content?: string; contentType?: ContentType; device?: string; at?: number; replyTo?: number; mentions?: string[] };

export const sent = (conversationId: string, seq: number, senderId: string, options: SentOptions = {}): NatterEvent => ({
  type: 'MessageSent',
  data: {
    conversation_id: conversationId,
    message_id: `m-${seq}-${conversationId}`,
    seq,
    sender_id: senderId,
    sender_device_id: options.device ?? 'phone',
    client_msg_id: `k-${seq}`,
    content: options.content ?? `message ${seq}`,
    content_type: options.contentType ?? 'text',
    timestamp: options.at ?? T0 + seq,
    ...(options.replyTo !== undefined ? { reply_to_seq: options.replyTo } : {}),
    ...(options.mentions ? { mentions: options.mentions } : {}),
  },
});

export const edited = (
  conversationId: string,
  seq: number,
  by: string,
  content: string,
  options: { contentType?: ContentType; at?: number } = {},
): NatterEvent => ({
  type: 'MessageEdited',
  data: {
    conversation_id: conversationId,
    seq,
    edited_by: by,
    content,
    content_type: options.contentType ?? 'text',
    timestamp: options.at ?? T0 + 1_000 + seq,
  },
});

export const deleted = (conversationId: string, seq: number, by: string, at = T0 + 2_000 + seq): NatterEvent => ({
  type: 'MessageDeleted',
  data: { conversation_id: conversationId, seq, deleted_by: by, timestamp: at },
});

export const reacted = (conversationId: string, seq: number, userId: string, emoji: string, at = T0): NatterEvent => ({
  type: 'ReactionAdded',
  data: { conversation_id: conversationId, seq, user_id: userId, emoji, timestamp: at },
});

export const unreacted = (conversationId: string, seq: number, userId: string, emoji: string, at = T0): NatterEvent => ({
  type: 'ReactionRemoved',
  data: { conversation_id: conversationId, seq, user_id: userId, emoji, timestamp: at },
});

export const delivered = (conversationId: string, userId: string, upToSeq: number, at = T0): NatterEvent => ({
  type: 'MessageDelivered',
  data: { conversation_id: conversationId, user_id: userId, up_to_seq: upToSeq, timestamp: at },
});

export const read = (conversationId: string, userId: string, upToSeq: number, at = T0): NatterEvent => ({
  type: 'MessageRead',
  data: { conversation_id: conversationId, user_id: userId, up_to_seq: upToSeq, timestamp: at },
});

export const adminGranted = (conversationId: string, userId: string, by: string, at = T0): NatterEvent => ({
  type: 'AdminGranted',
  data: { conversation_id: conversationId, user_id: userId, granted_by: by, reason: 'granted', timestamp: at },
});

export const adminRevoked = (conversationId: string, userId: string, by: string, at = T0): NatterEvent => ({
  type: 'AdminRevoked',
  data: { conversation_id: conversationId, user_id: userId, revoked_by: by, timestamp: at },
});

export const renamed = (conversationId: string, title: string, by: string, at = T0): NatterEvent => ({
  type: 'ConversationRenamed',
  data: { conversation_id: conversationId, title, renamed_by: by, timestamp: at },
});

/** `until` null: muted until unmuted. */
export const muted = (userId: string, conversationId: string, until: number | null = null, at = T0): NatterEvent => ({
  type: 'ConversationMuted',
  data: { user_id: userId, conversation_id: conversationId, until, timestamp: at },
});

export const unmuted = (userId: string, conversationId: string, at = T0): NatterEvent => ({
  type: 'ConversationUnmuted',
  data: { user_id: userId, conversation_id: conversationId, timestamp: at },
});

/** The stream the event store keeps the event in. */
const streamOf = (event: NatterEvent): string => {
  switch (event.type) {
    case 'MessageDelivered':
    case 'MessageRead':
      return receiptsStream(event.data.conversation_id);
    case 'ReactionAdded':
    case 'ReactionRemoved':
      return reactionsStream(event.data.conversation_id);
    case 'ConversationMuted':
    case 'ConversationUnmuted':
    case 'UserBlocked':
    case 'UserUnblocked':
    case 'PrivacyChanged':
    case 'UserErased':
      return userStream(event.data.user_id);
    default:
      return conversationStream(event.data.conversation_id);
  }
};

/**
 * Records events as the log would: positions increase by one from `after` + 1, revisions count per
 * stream (messages, edits, deletes and membership in `conversation-<id>`, receipts in `receipts-<id>`,
 * reactions in `reactions-<id>`, a user's settings in `user-<id>`). Successive calls continue the same log.
 */
export const recorder = (after = 0) => {
  let position = after;
  const revisions = new Map<string, number>();
  return (events: NatterEvent[]): Recorded[] =>
    events.map((event) => {
      const stream = streamOf(event);
      const revision = (revisions.get(stream) ?? -1) + 1;
      revisions.set(stream, revision);
      position += 1;
      return { ...event, stream, revision, position, recordedAt: event.data.timestamp } as Recorded;
    });
};
