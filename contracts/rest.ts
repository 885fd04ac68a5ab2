import { Type, type Static } from 'typebox';
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
import { ConversationKind, LastSeenVisibility, Mentions } from './events.ts';
import { Emoji } from './reactions.ts';

const strict = { additionalProperties: false } as const;

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;
const Limit = Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE });

/** A 204 reply: the change is done and there is no body. */
export const NoContent = Type.Null({ description: 'Done; no body' });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String() }),
  },
  { description: "An error: a stable code from the registry (the README's error table) and a message for people" },
);

export const DevTokenBody = Type.Object({ user_id: UserId, device_id: Type.Optional(DeviceId) }, strict);
export type DevTokenBody = Static<typeof DevTokenBody>;
export const DevTokenReply = Type.Object({ token: Type.String(), user_id: UserId, expires_in: Type.Integer() });

export const CreateConversationBody = Type.Union([
  Type.Object({ type: Type.Literal('direct'), peer_id: UserId }, strict),
  Type.Object({ type: Type.Literal('group'), title: Title, member_ids: Type.Array(UserId, { maxItems: 10_000 }) }, strict),
]);
export type CreateConversationBody = Static<typeof CreateConversationBody>;

export const ConversationReply = Type.Object({
  conversation_id: ConversationId,
  type: ConversationKind,
  title: Type.Union([Title, Type.Null()]),
  members: Type.Array(UserId),
  /** Group admins (the creator first); empty for a direct conversation. */
  admins: Type.Array(UserId),
  created_by: UserId,
  /** Days messages are kept (the conversation's choice); null: the server's default. */
  retention_days: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
});
export type ConversationReply = Static<typeof ConversationReply>;

export const ConversationParams = Type.Object({ id: ConversationId });
export const MemberParams = Type.Object({ id: ConversationId, user_id: UserId });
export const UserParams = Type.Object({ user_id: UserId });

/** What a PATCH of a conversation changes: its title (groups, admins only), its retention (admins; either member of a direct one). */
export const UpdateConversationBody = Type.Object(
  {
    title: Type.Optional(Title),
    /** Days to keep messages, or null for the server's default (NATTER_RETENTION_DAYS). */
    retention_days: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()])),
  },
  { ...strict, minProperties: 1 },
);
export const MuteBody = Type.Object(
  {
    /** When the mute ends (milliseconds since the epoch, in the future); null: until unmuted. */
    until: Type.Union([Timestamp, Type.Null()]),
  },
  strict,
);
export const PrivacyBody = Type.Object({ last_seen: LastSeenVisibility }, strict);
export const BlocksReply = Type.Object({ items: Type.Array(UserId) });
/** Erasing oneself must be spelled out: `confirm` is the caller's own user id. */
export const EraseBody = Type.Object({ confirm: Type.String({ maxLength: 64 }) }, strict);

export const AddMembersBody = Type.Object({ user_ids: Type.Array(UserId, { minItems: 1, maxItems: 10_000 }) }, strict);
export type AddMembersBody = Static<typeof AddMembersBody>;

export const SendMessageBody = Type.Object(
  {
    client_msg_id: ClientMsgId,
    content: ContentInput,
    content_type: Type.Optional(
      Type.Union(ContentType.anyOf, {
        description:
          '"text" (default); "media": content is the JSON {"media_id","caption"?} of media you uploaded (else 400 invalid_request); "ciphertext": base64',
      }),
    ),
    /** The message this one answers (its thread): an existing message of the same conversation. */
    reply_to_seq: Type.Optional(Seq),
    /** Members the message mentions: at most 50, each a member. */
    mentions: Type.Optional(Mentions),
  },
  strict,
);
export type SendMessageBody = Static<typeof SendMessageBody>;

export const SendMessageReply = Type.Object({ message_id: MessageId, seq: Seq, timestamp: Timestamp });
export type SendMessageReply = Static<typeof SendMessageReply>;

export const MarkBody = Type.Object({ up_to_seq: Watermark }, strict);

export const ReactionSummary = Type.Object({
  emoji: Emoji,
  count: Type.Integer({ minimum: 1 }),
  /** The first reactors, at most 20; `count` is the truth. */
  user_ids: Type.Array(UserId),
});

/** A message as history shows it now (the fields of `new_message` too). */
export const MessageFields = {
  message_id: MessageId,
  conversation_id: ConversationId,
  seq: Seq,
  sender_id: UserId,
  /** Empty once the message is deleted. */
  content: Type.String({ maxLength: MAX_CONTENT_LENGTH }),
  content_type: ContentType,
  client_msg_id: ClientMsgId,
  timestamp: Timestamp,
  /** When the text was last edited, or null. */
  edited_at: Type.Union([Timestamp, Type.Null()]),
  deleted: Type.Boolean(),
  /** Its author was erased: deleted too, and its text is unrecoverable, even from the log. */
  erased: Type.Boolean(),
  /** Its data key is missing although nobody was erased (lost content; reported by the server). */
  unavailable: Type.Optional(Type.Boolean()),
  reply_to_seq: Type.Union([Seq, Type.Null()]),
  reply_count: Type.Integer({ minimum: 0 }),
  mentions: Type.Array(UserId),
  reactions: Type.Array(ReactionSummary),
  cursor: Cursor,
};
export const Message = Type.Object(MessageFields);
export type Message = Static<typeof Message>;

export const MessageParams = Type.Object({ id: ConversationId, seq: Seq });
export const EditMessageBody = Type.Object({ content: ContentInput }, strict);
export const ReactionParams = Type.Object({ id: ConversationId, seq: Seq, emoji: Emoji });
export const RepliesQuery = Type.Object(
  {
    after: Type.Optional(Watermark),
    limit: Type.Optional(Limit),
  },
  strict,
);

export const MessagesQuery = Type.Object(
  {
    before: Type.Optional(Seq),
    after: Type.Optional(Watermark),
    limit: Type.Optional(Limit),
  },
  strict,
);
export type MessagesQuery = Static<typeof MessagesQuery>;
export const MessagesReply = Type.Object({ items: Type.Array(Message) });

export const LastMessage = Type.Object({
  message_id: MessageId,
  seq: Seq,
  sender_id: UserId,
  /** The start of the text (`[media]`, `[encrypted message]` for those), following edits; empty once deleted. */
  preview: Type.String(),
  timestamp: Timestamp,
  edited: Type.Optional(Type.Boolean()),
  deleted: Type.Optional(Type.Boolean()),
  erased: Type.Optional(Type.Boolean()),
});

export const InboxItem = Type.Object({
  conversation_id: ConversationId,
  type: ConversationKind,
  title: Type.Union([Title, Type.Null()]),
  members_count: Type.Integer(),
  last_message: Type.Union([LastMessage, Type.Null()]),
  unread_count: Type.Integer({ minimum: 0 }),
  /** Unread messages (after the user's read watermark) that mention the user. */
  unread_mentions: Type.Integer({ minimum: 0 }),
  /** The user muted the conversation (it still counts unread; it pushes only mentions). */
  muted: Type.Boolean(),
  /** When the mute ends; null when muted until unmuted, or not muted. */
  muted_until: Type.Union([Timestamp, Type.Null()]),
  last_activity: Timestamp,
});
export type InboxItem = Static<typeof InboxItem>;

export const InboxQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    /** The `next_cursor` of the previous page; anything else is refused with 400 invalid_request. */
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'the next_cursor of the previous page (opaque); any other value is refused with 400 invalid_request',
      }),
    ),
  },
  strict,
);
export type InboxQuery = Static<typeof InboxQuery>;
export const InboxReply = Type.Object({ items: Type.Array(InboxItem), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const Receipt = Type.Object({ user_id: UserId, delivered_seq: Watermark, read_seq: Watermark });
export type Receipt = Static<typeof Receipt>;
export const ReceiptsReply = Type.Object({ items: Type.Array(Receipt) });

export const SyncQuery = Type.Object(
  {
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5_000 })),
  },
  strict,
);
export const SyncReply = Type.Object({ items: Type.Array(Message), cursor: Cursor, has_more: Type.Boolean() });

/** The longest search query, in characters. */
export const MAX_SEARCH_QUERY_LENGTH = 256;

export const SearchQuery = Type.Object(
  {
    /** Words (case- and accent-insensitive; the last one also matches as a prefix) and "phrases in quotes". */
    q: Type.String({ minLength: 1, maxLength: MAX_SEARCH_QUERY_LENGTH }),
    /** Only this conversation (a member's; anyone else gets 404 conversation_not_found). */
    conversation_id: Type.Optional(ConversationId),
    limit: Type.Optional(Limit),
    /** The `next_cursor` of the previous page. */
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  strict,
);
export type SearchQuery = Static<typeof SearchQuery>;

export const SearchResult = Type.Object({
  conversation_id: ConversationId,
  seq: Seq,
  message_id: MessageId,
  sender_id: UserId,
  timestamp: Timestamp,
  /** Plain text around the first match, matched words in `<mark>…</mark>`, `…` where cut: escape it before showing it as HTML. */
  snippet: Type.String(),
});
export type SearchResult = Static<typeof SearchResult>;
export const SearchReply = Type.Object({ items: Type.Array(SearchResult), next_cursor: Type.Union([Type.String(), Type.Null()]) });
export type SearchReply = Static<typeof SearchReply>;
