/*
 * The search index: one more read model, a projection of MessageSent, MessageEdited and
 * MessageDeleted. Projectors hand it words already folded (projections/search/text.ts), and the
 * query side hands it terms folded by the same function, so both engines match the same words the
 * same way and neither needs an analyzer of its own. Every adapter passes
 * test/contract/search-index.contract.ts.
 */

/**
 * A message as the index keeps it: `words` what it is found by; `text` its content as the log holds
 * it (sealed, like history: a destroyed key erases it here too), which readers open and cut the
 * snippet from (a media message's caption: see searchableText).
 */
export type IndexedMessage = {
  conversation_id: string;
  seq: number;
  message_id: string;
  sender_id: string;
  timestamp: number;
  /** Global log position of the MessageSent event: the order of results and of the cursor. */
  position: number;
  content_type: 'text' | 'media';
  text: string;
  words: string[];
};

/**
 * Writes, each idempotent under at-least-once replays: a message is inserted once; an edit applies
 * only over an older state (by position) of a message that is indexed and not deleted; a delete,
 * an expiry or an erasure removes the words for good (a replayed send or edit never brings them back).
 */
export type SearchWrite =
  | { op: 'message'; message: IndexedMessage }
  /** An edit's `text` is sealed too (edits are text messages only). */
  | { op: 'edit'; conversation_id: string; seq: number; text: string; words: string[]; position: number }
  | { op: 'delete'; conversation_id: string; seq: number; position: number }
  /** Retention: the conversation's messages up to `up_to_seq` leave the index for good. */
  | { op: 'expire'; conversation_id: string; up_to_seq: number; position: number }
  /**
   * Erasure: every message the user sent leaves the index for good. Their text here is sealed and
   * died with their keys, but the words are plain: this is what takes those away.
   */
  | { op: 'erase'; sender_id: string; position: number };

/** One word, or a phrase (words next to each other, in order); `prefix`: its last word matches as a prefix. */
export type SearchTerm = { words: string[]; prefix: boolean };

export type SearchRequest = {
  /** Every term must match (AND); at least one. */
  terms: SearchTerm[];
  /** Only messages of these conversations: the caller's, read from the directory at query time. */
  conversationIds: readonly string[];
  limit: number;
  /** Only messages sent below this position (the cursor): pages stay put while new messages arrive. */
  before?: number;
};

export type SearchHit = Omit<IndexedMessage, 'words'>;

export interface SearchIndex {
  write(ops: SearchWrite[]): Promise<void>;
  /** Matching messages, newest first (by position, descending). */
  search(request: SearchRequest): Promise<SearchHit[]>;
  reset(): Promise<void>;
}
