import { Type, type Static, type TSchema } from 'typebox';
import {
  ConversationId,
  UserId,
  DeviceId,
  ClientMsgId,
  MessageId,
  Seq,
  Watermark,
  Timestamp,
  Cursor,
  ContentType,
  ContentInput,
  Title,
  MAX_CONTENT_LENGTH,
} from './primitives.ts';
import { ConversationKind, Mentions } from './events.ts';
import { Emoji } from './reactions.ts';
import { MessageFields } from './rest.ts';

// WebSocket frames are JSON text frames with a `type`. Unknown fields are refused, so that a typo in a
// client is an error frame and not a silently ignored option.
const strict = { additionalProperties: false } as const;

export const SendMessageFrame = Type.Object(
  {
    type: Type.Literal('send_message'),
    client_msg_id: ClientMsgId,
    conversation_id: ConversationId,
    content: ContentInput,
    content_type: Type.Optional(ContentType),
    reply_to_seq: Type.Optional(Seq),
    mentions: Type.Optional(Mentions),
  },
  strict,
);
export type SendMessageFrame = Static<typeof SendMessageFrame>;

/** Echoed in the `ok` or `error` frame that answers the request, so a client can match them. */
export const RequestId = Type.String({ minLength: 1, maxLength: 64 });

export const EditMessageFrame = Type.Object(
  {
    type: Type.Literal('edit_message'),
    conversation_id: ConversationId,
    seq: Seq,
    content: ContentInput,
    request_id: Type.Optional(RequestId),
  },
  strict,
);
export type EditMessageFrame = Static<typeof EditMessageFrame>;

export const DeleteMessageFrame = Type.Object(
  {
    type: Type.Literal('delete_message'),
    conversation_id: ConversationId,
    seq: Seq,
    request_id: Type.Optional(RequestId),
  },
  strict,
);
export type DeleteMessageFrame = Static<typeof DeleteMessageFrame>;

export const ReactionOp = Type.Union([Type.Literal('add'), Type.Literal('remove')]);
export const ReactFrame = Type.Object(
  {
    type: Type.Literal('react'),
    conversation_id: ConversationId,
    seq: Seq,
    emoji: Emoji,
    op: ReactionOp,
    request_id: Type.Optional(RequestId),
  },
  strict,
);
export type ReactFrame = Static<typeof ReactFrame>;

export const MarkFrame = <K extends 'mark_delivered' | 'mark_read'>(kind: K) =>
  Type.Object(
    {
      type: Type.Literal(kind),
      conversation_id: ConversationId,
      up_to_seq: Watermark,
    },
    strict,
  );
export const MarkDeliveredFrame = MarkFrame('mark_delivered');
export const MarkReadFrame = MarkFrame('mark_read');
export type MarkFrame = Static<typeof MarkDeliveredFrame> | Static<typeof MarkReadFrame>;

export const SyncFrame = Type.Object(
  {
    type: Type.Literal('sync'),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5_000 })),
  },
  strict,
);
export type SyncFrame = Static<typeof SyncFrame>;

export const PingFrame = Type.Object({ type: Type.Literal('ping') }, strict);

export const TypingState = Type.Union([Type.Literal('start'), Type.Literal('stop')]);
export const TypingFrame = Type.Object(
  {
    type: Type.Literal('typing'),
    conversation_id: ConversationId,
    state: TypingState,
  },
  strict,
);
export type TypingFrame = Static<typeof TypingFrame>;

/**
 * A fresh token for this socket before its current one expires (answered by `ok`). It must name the
 * same `sub`; an invalid token or another user's gets an `error` frame and the socket is closed.
 * Compact JWT characters only, so that a mangled frame is `invalid_frame` and keeps its socket.
 */
export const ReauthFrame = Type.Object(
  {
    type: Type.Literal('reauth'),
    token: Type.String({ minLength: 5, maxLength: 16_384, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$' }),
    request_id: Type.Optional(RequestId),
  },
  strict,
);
export type ReauthFrame = Static<typeof ReauthFrame>;

/** Client → server frames, keyed by `type` so that a frame is validated against one schema only. */
export const clientFrames = {
  send_message: SendMessageFrame,
  mark_delivered: MarkDeliveredFrame,
  mark_read: MarkReadFrame,
  sync: SyncFrame,
  ping: PingFrame,
  typing: TypingFrame,
  edit_message: EditMessageFrame,
  delete_message: DeleteMessageFrame,
  react: ReactFrame,
  reauth: ReauthFrame,
} as const satisfies Record<string, TSchema>;
export type ClientFrameType = keyof typeof clientFrames;
export type ClientFrame = { [K in ClientFrameType]: Static<(typeof clientFrames)[K]> }[ClientFrameType];

// Server → client frames.

export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  client_msg_id: ClientMsgId,
  conversation_id: ConversationId,
  message_id: MessageId,
  seq: Seq,
  timestamp: Timestamp,
});
export type AckFrame = Static<typeof AckFrame>;

export const NewMessageFrame = Type.Object({
  type: Type.Literal('new_message'),
  ...MessageFields,
});
export type NewMessageFrame = Static<typeof NewMessageFrame>;

/**
 * A message changed: edited, deleted, or (in a sync) anything since the device's cursor, reactions
 * included. `content`, `edited_at` and `deleted` are the message's state now; `edited_at` is null in
 * the frame of a delete. Sync frames also carry `reactions` and `reply_count`.
 */
export const MessageUpdatedFrame = Type.Object({
  type: Type.Literal('message_updated'),
  conversation_id: ConversationId,
  seq: Seq,
  content: Type.String({ maxLength: MAX_CONTENT_LENGTH }),
  edited_at: Type.Union([Timestamp, Type.Null()]),
  deleted: Type.Boolean(),
  erased: Type.Optional(Type.Boolean()),
  reactions: Type.Optional(MessageFields.reactions),
  reply_count: Type.Optional(MessageFields.reply_count),
  cursor: Cursor,
});
export type MessageUpdatedFrame = Static<typeof MessageUpdatedFrame>;

/** Someone added or removed a reaction (reactions are sets: an add of one already there never comes). */
export const ReactionFrame = Type.Object({
  type: Type.Literal('reaction'),
  conversation_id: ConversationId,
  seq: Seq,
  emoji: Emoji,
  user_id: UserId,
  op: ReactionOp,
  cursor: Cursor,
});
export type ReactionFrame = Static<typeof ReactionFrame>;

/** The answer to an `edit_message`, `delete_message` or `react` once it is durable (or changed nothing), and to an accepted `reauth`. */
export const OkFrame = Type.Object({
  type: Type.Literal('ok'),
  request_id: Type.Optional(RequestId),
});
export type OkFrame = Static<typeof OkFrame>;

export const MessageStatusFrame = Type.Object({
  type: Type.Literal('message_status'),
  conversation_id: ConversationId,
  user_id: UserId,
  status: Type.Union([Type.Literal('delivered'), Type.Literal('read')]),
  up_to_seq: Watermark,
  timestamp: Timestamp,
});
export type MessageStatusFrame = Static<typeof MessageStatusFrame>;

/** Sent to members (and to a removed member) when a conversation is created, renamed, or its members or admins change. */
export const ConversationUpdatedFrame = Type.Object({
  type: Type.Literal('conversation_updated'),
  conversation_id: ConversationId,
  kind: ConversationKind,
  title: Type.Union([Title, Type.Null()]),
  members: Type.Array(UserId),
  admins: Type.Array(UserId),
  removed: Type.Optional(Type.Boolean()),
  cursor: Cursor,
});
export type ConversationUpdatedFrame = Static<typeof ConversationUpdatedFrame>;

export const SyncDoneFrame = Type.Object({
  type: Type.Literal('sync_done'),
  cursor: Cursor,
  has_more: Type.Boolean(),
});
export type SyncDoneFrame = Static<typeof SyncDoneFrame>;

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.String(),
  message: Type.String(),
  client_msg_id: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String()),
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ErrorFrame = Static<typeof ErrorFrame>;

export const PongFrame = Type.Object({ type: Type.Literal('pong') });

/** A member of a shared conversation is typing; it expires by itself if no refresh comes. */
export const TypingServerFrame = Type.Object({
  type: Type.Literal('typing'),
  conversation_id: ConversationId,
  user_id: UserId,
  state: TypingState,
});

export const PresenceFrame = Type.Object({
  type: Type.Literal('presence'),
  user_id: UserId,
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  last_seen: Type.Optional(Timestamp),
});
export type PresenceFrame = Static<typeof PresenceFrame>;

/** The gateway is draining: reconnect (to any gateway) after the delay, then `sync`. */
export const GoawayFrame = Type.Object({
  type: Type.Literal('goaway'),
  reconnect_after_ms: Type.Integer({ minimum: 0 }),
});

/** One of the user's devices is running out of one-time pre-keys: that device uploads more (`PUT /v1/keys`). */
export const PrekeysLowFrame = Type.Object({
  type: Type.Literal('prekeys_low'),
  device_id: DeviceId,
  remaining: Type.Integer({ minimum: 0 }),
});
export type PrekeysLowFrame = Static<typeof PrekeysLowFrame>;

/**
 * The socket's token expires in `expires_in_ms`: send `reauth` with a fresh one, or the socket is
 * closed with 4001 (token_expired) then.
 */
export const TokenExpiringFrame = Type.Object({
  type: Type.Literal('token_expiring'),
  expires_in_ms: Type.Integer({ minimum: 0 }),
});
export type TokenExpiringFrame = Static<typeof TokenExpiringFrame>;

export const serverFrames = {
  ack: AckFrame,
  new_message: NewMessageFrame,
  message_updated: MessageUpdatedFrame,
  reaction: ReactionFrame,
  ok: OkFrame,
  message_status: MessageStatusFrame,
  conversation_updated: ConversationUpdatedFrame,
  sync_done: SyncDoneFrame,
  error: ErrorFrame,
  pong: PongFrame,
  typing: TypingServerFrame,
  presence: PresenceFrame,
  goaway: GoawayFrame,
  prekeys_low: PrekeysLowFrame,
  token_expiring: TokenExpiringFrame,
} as const satisfies Record<string, TSchema>;
export type ServerFrame = { [K in keyof typeof serverFrames]: Static<(typeof serverFrames)[K]> }[keyof typeof serverFrames];
