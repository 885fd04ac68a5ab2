import type { ConversationKind } from '../contracts/events.ts';
import type { ContentType } from '../contracts/primitives.ts';
import type { SearchIndex } from './search.ts';

/*
 * Read-model ports. Projectors turn events into plain write operations and hand a whole batch to
 * `write`, which an adapter applies atomically and idempotently (a replayed batch changes nothing).
 * The query side only ever calls the read methods. Every adapter passes the matching suite in
 * test/contract/.
 */

/** One emoji on one message: `count` is the truth, `user_ids` the first reactors (capped). */
export type ReactionSummary = { emoji: string; count: number; user_ids: string[] };

/** A message as MessageSent wrote it: what the history projector inserts. */
export type SentMessage = {
  conversation_id: string;
  seq: number;
  message_id: string;
  sender_id: string;
  client_msg_id: string;
  content: string;
  content_type: ContentType;
  timestamp: number;
  /** Global log position of the MessageSent event: the sync cursor. */
  position: number;
  reply_to_seq: number | null;
  mentions: string[];
};

/** A message as history shows it now: edits applied, deletes blanked, replies counted, reactions summed. */
export type StoredMessage = SentMessage & {
  edited_at: number | null;
  deleted: boolean;
  reply_count: number;
  reactions: ReactionSummary[];
  /** Position of the last edit, delete or reaction (the message's own position when none): where sync sends its new state. */
  updated_position: number;
  /** Its author was erased: the text is unrecoverable (set when reading; the stored row holds ciphertext). */
  erased?: boolean;
  /** Its key is missing although nobody was erased: an error, reported where it is read. */
  unavailable?: boolean;
};

/**
 * History writes, each idempotent and safe to replay: a message is inserted once; an edit applies
 * only over an older edit (by position); a delete blanks the text and mentions for good; a reaction
 * is a (seq, emoji, user) that is present or not, the later position winning.
 */
export type HistoryWrite =
  | { op: 'message'; message: SentMessage }
  | { op: 'edit'; conversation_id: string; seq: number; content: string; edited_at: number; position: number }
  | { op: 'delete'; conversation_id: string; seq: number; position: number }
  | { op: 'reaction'; conversation_id: string; seq: number; emoji: string; user_id: string; present: boolean; position: number }
  /** Retention: every message up to `up_to_seq` is gone (rows deleted, not flagged). */
  | { op: 'expire'; conversation_id: string; up_to_seq: number; position: number };

export type HistoryPage = { before?: number; after?: number; limit: number };

export interface HistoryStore {
  write(ops: HistoryWrite[]): Promise<void>;
  /** Ascending seq. `before`/`after` are exclusive seq bounds; neither gives the newest `limit`. */
  page(conversationId: string, page: HistoryPage): Promise<StoredMessage[]>;
  /** Messages with `after < position <= upTo`, ascending. */
  afterPosition(conversationId: string, after: number, upTo: number, limit: number): Promise<StoredMessage[]>;
  /** Messages sent at or before `after` whose last change is in `(after, upTo]`, ascending by `updated_position`: what sync sends as `message_updated`. */
  changedAfter(conversationId: string, after: number, upTo: number, limit: number): Promise<StoredMessage[]>;
  /** The replies to `parentSeq` (messages whose `reply_to_seq` is it) with seq above `after`, ascending. */
  replies(conversationId: string, parentSeq: number, page: { after: number; limit: number }): Promise<StoredMessage[]>;
  reset(): Promise<void>;
}

export type ConversationInfo = {
  conversation_id: string;
  kind: ConversationKind;
  title: string | null;
  created_by: string;
  members: string[];
  /** Active members who are admins (groups). */
  admins: string[];
  /** The conversation's own retention in days; null: the server's default. */
  retention_days: number | null;
};

export type DirectoryWrite =
  | { op: 'conversation'; conversation_id: string; kind: ConversationKind; title: string | null; created_by: string; created_at: number }
  | { op: 'members'; conversation_id: string; user_ids: string[]; active: boolean }
  | { op: 'admins'; conversation_id: string; user_ids: string[]; admin: boolean }
  /** A rename; `position` orders renames, so that a replayed older one never undoes a later one. */
  | { op: 'title'; conversation_id: string; title: string; position: number }
  | { op: 'retention'; conversation_id: string; retention_days: number | null; position: number };

export interface DirectoryStore {
  write(ops: DirectoryWrite[]): Promise<void>;
  get(conversationId: string): Promise<ConversationInfo | null>;
  /** Active members only. */
  members(conversationId: string): Promise<string[]>;
  /** Conversation ids where the user is an active member. */
  conversationsOf(userId: string): Promise<string[]>;
  /** Every conversation id after `after` (by id), with its retention: what the retention sweep pages through. */
  conversations(after: string, limit: number): Promise<Array<{ conversation_id: string; retention_days: number | null }>>;
  reset(): Promise<void>;
}

export type LastMessage = {
  message_id: string;
  seq: number;
  sender_id: string;
  preview: string;
  timestamp: number;
  edited?: boolean;
  deleted?: boolean;
  erased?: boolean;
};

export type InboxWrite =
  | { op: 'conversation'; conversation_id: string; kind: ConversationKind; title: string | null; timestamp: number }
  /** `position` orders membership changes, so that a replayed join or leave never undoes a later one. */
  | { op: 'join'; user_id: string; conversation_id: string; timestamp: number; position: number }
  | { op: 'leave'; user_id: string; conversation_id: string; position: number }
  | { op: 'message'; conversation_id: string; last_message: LastMessage; position: number }
  | { op: 'read'; user_id: string; conversation_id: string; read_seq: number }
  /** The users a message mentions (its `unread_mentions` until they read past it). */
  | { op: 'mentions'; conversation_id: string; seq: number; user_ids: string[] }
  /** An edit or delete: the preview follows if it is the last message; a delete drops its mentions. */
  | { op: 'change'; conversation_id: string; seq: number; preview: string; deleted: boolean; position: number }
  /** Something in the conversation changed at `position` without a new message (a reaction): sync must look at it. */
  | { op: 'touch'; conversation_id: string; position: number }
  | { op: 'title'; conversation_id: string; title: string; position: number }
  /** Retention: messages up to `up_to_seq` are gone, their preview and mentions with them. */
  | { op: 'expire'; conversation_id: string; up_to_seq: number; position: number }
  /** A member's mute: `until` null is until unmuted; `muted` false unmutes. Ordered by `position`. */
  | { op: 'mute'; user_id: string; conversation_id: string; muted: boolean; until: number | null; position: number };

export type InboxEntry = {
  conversation_id: string;
  kind: ConversationKind;
  title: string | null;
  members_count: number;
  last_message: LastMessage | null;
  unread_count: number;
  /** Unread messages (after the read watermark) that mention the user. */
  unread_mentions: number;
  /** Muted now (a mute that ran out is no mute). */
  muted: boolean;
  /** When the mute ends; null when muted until unmuted, or not muted. */
  muted_until: number | null;
  last_activity: number;
  last_position: number;
};

export interface InboxStore {
  write(ops: InboxWrite[]): Promise<void>;
  /** The user's conversations by last activity, newest first; `cursor` is opaque. */
  list(userId: string, options: { limit: number; cursor?: string }): Promise<{ items: InboxEntry[]; next_cursor: string | null }>;
  /** The user's conversations with a message, edit, delete or reaction after `position`. */
  changedSince(userId: string, position: number): Promise<string[]>;
  /** Of `userIds`, those who have the conversation muted at `now`. */
  mutedAmong(conversationId: string, userIds: readonly string[], now: number): Promise<Set<string>>;
  reset(): Promise<void>;
}

export type UserWrite =
  | { op: 'block'; user_id: string; blocked_user_id: string; blocked: boolean; position: number }
  | { op: 'privacy'; user_id: string; last_seen: 'everyone' | 'contacts' | 'nobody'; position: number }
  | { op: 'erased'; user_id: string };

/** Whom each user blocks, and who may see their last seen: what the gateways filter presence and typing by. */
export interface UserStore {
  write(ops: UserWrite[]): Promise<void>;
  /** The users `userId` blocks, sorted. */
  blocks(userId: string): Promise<string[]>;
  /** Whether either of the two blocks the other. */
  eitherBlocks(a: string, b: string): Promise<boolean>;
  lastSeenVisibility(userId: string): Promise<'everyone' | 'contacts' | 'nobody'>;
  /** Whether the user was erased: their tokens are refused. */
  isErased(userId: string): Promise<boolean>;
  reset(): Promise<void>;
}

export type ReceiptWrite = { conversation_id: string; user_id: string; delivered_seq: number; read_seq: number };
export type ReceiptRow = { user_id: string; delivered_seq: number; read_seq: number };

export interface ReceiptStore {
  /** Watermarks only move forward: each value is merged with max(). */
  write(ops: ReceiptWrite[]): Promise<void>;
  list(conversationId: string): Promise<ReceiptRow[]>;
  reset(): Promise<void>;
}

export interface CheckpointStore {
  get(projector: string): Promise<number>;
  set(projector: string, position: number): Promise<void>;
}

export type ReadModels = {
  history: HistoryStore;
  directory: DirectoryStore;
  inbox: InboxStore;
  receipts: ReceiptStore;
  users: UserStore;
  /** Full-text search over the messages (ports/search.ts). */
  search: SearchIndex;
  checkpoints: CheckpointStore;
  /**
   * Runs `work` (writes to these stores and their checkpoints) as one atomic commit where the
   * backend can, so that a projection batch costs one commit instead of one per store. Adapters
   * without transactions simply run it: every write is idempotent anyway.
   */
  unitOfWork<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
};
