// Every type the SDK speaks is derived from the server's TypeBox schemas, so a change in
// `contracts/` is a type error here instead of a silent drift. Only types are imported: the SDK
// bundle carries no schema code.
import type { Static } from 'typebox';
import type { clientFrames, serverFrames } from '../../contracts/frames.ts';
import type * as rest from '../../contracts/rest.ts';

type ServerFrames = typeof serverFrames;
type ClientFrames = typeof clientFrames;
export type ServerFrameOf<K extends keyof ServerFrames> = Static<ServerFrames[K]>;
export type ClientFrameOf<K extends keyof ClientFrames> = Static<ClientFrames[K]>;
export type AnyServerFrame = { [K in keyof ServerFrames]: ServerFrameOf<K> }[keyof ServerFrames];
export type AnyClientFrame = { [K in keyof ClientFrames]: ClientFrameOf<K> }[keyof ClientFrames];

export type AckFrame = ServerFrameOf<'ack'>;
export type NewMessageFrame = ServerFrameOf<'new_message'>;
export type MessageStatusFrame = ServerFrameOf<'message_status'>;
export type ConversationUpdatedFrame = ServerFrameOf<'conversation_updated'>;
export type PresenceFrame = ServerFrameOf<'presence'>;
export type TypingFrame = ServerFrameOf<'typing'>;
export type ErrorFrame = ServerFrameOf<'error'>;
export type MessageUpdatedFrame = ServerFrameOf<'message_updated'>;
export type ReactionFrame = ServerFrameOf<'reaction'>;
export type OkFrame = ServerFrameOf<'ok'>;
export type ContentType = NonNullable<ClientFrameOf<'send_message'>['content_type']>;
/** The frames that answer with `ok` or an `error` carrying their `request_id`. */
export type RequestFrame = ClientFrameOf<'edit_message'> | ClientFrameOf<'delete_message'> | ClientFrameOf<'react'>;

export type Message = Static<typeof rest.Message>;
export type InboxItem = Static<typeof rest.InboxItem>;
export type InboxReply = Static<typeof rest.InboxReply>;
export type Conversation = Static<typeof rest.ConversationReply>;
export type CreateConversationBody = Static<typeof rest.CreateConversationBody>;
export type MessagesQuery = Static<typeof rest.MessagesQuery>;
export type MessagesReply = Static<typeof rest.MessagesReply>;
export type RepliesQuery = Static<typeof rest.RepliesQuery>;
export type ReactionSummary = Static<typeof rest.ReactionSummary>;
export type SendMessageBody = Static<typeof rest.SendMessageBody>;
export type ReceiptsReply = Static<typeof rest.ReceiptsReply>;
export type SendMessageReply = Static<typeof rest.SendMessageReply>;
export type DevTokenReply = Static<typeof rest.DevTokenReply>;
export type BlocksReply = Static<typeof rest.BlocksReply>;
/** Who sees the user's `last_seen`: everyone, contacts (a shared direct conversation) or nobody. */
export type LastSeenVisibility = Static<typeof rest.PrivacyBody>['last_seen'];
export type SearchQuery = Static<typeof rest.SearchQuery>;
export type SearchResult = Static<typeof rest.SearchResult>;
export type SearchReply = Static<typeof rest.SearchReply>;
/** Presence over REST is the presence frame without its `type`. */
export type PresenceState = Omit<PresenceFrame, 'type'>;
