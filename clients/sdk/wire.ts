// Every type the SDK speaks comes from contracts.ts, which `npm run sdk:contracts` generates from the
// server's TypeBox schemas: a change in `contracts/` fails a test until the SDK is regenerated, and
// the published package depends on nothing of the server.
import type * as rest from './contracts.ts';
import type { ClientFrames, ServerFrames } from './contracts.ts';

export type { ClientFrames, ServerFrames };
export type ServerFrameOf<K extends keyof ServerFrames> = ServerFrames[K];
export type ClientFrameOf<K extends keyof ClientFrames> = ClientFrames[K];
export type AnyServerFrame = ServerFrames[keyof ServerFrames];
export type AnyClientFrame = ClientFrames[keyof ClientFrames];

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

export type Message = rest.Message;
export type InboxItem = rest.InboxItem;
export type InboxReply = rest.InboxReply;
export type Conversation = rest.ConversationReply;
export type CreateConversationBody = rest.CreateConversationBody;
export type MessagesQuery = rest.MessagesQuery;
export type MessagesReply = rest.MessagesReply;
export type RepliesQuery = rest.RepliesQuery;
export type ReactionSummary = rest.ReactionSummary;
export type SendMessageBody = rest.SendMessageBody;
export type ReceiptsReply = rest.ReceiptsReply;
export type SendMessageReply = rest.SendMessageReply;
export type DevTokenReply = rest.DevTokenReply;
export type BlocksReply = rest.BlocksReply;
/** Who sees the user's `last_seen`: everyone, contacts (a shared direct conversation) or nobody. */
export type LastSeenVisibility = rest.PrivacyBody['last_seen'];
export type SearchQuery = rest.SearchQuery;
export type SearchResult = rest.SearchResult;
export type SearchReply = rest.SearchReply;
/** Presence over REST is the presence frame without its `type`. */
export type PresenceState = Omit<PresenceFrame, 'type'>;
