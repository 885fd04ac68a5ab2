import type { HistoryStore, InboxStore, StoredMessage } from '../ports/read-models.ts';

export const DEFAULT_SYNC_LIMIT = 500;

/** What sync hands over, in log order: a message sent after the cursor, or one sent before it that changed after it. */
export type SyncEntry = { kind: 'new' | 'changed'; message: StoredMessage; at: number };

export type SyncPage = { entries: SyncEntry[]; cursor: number; has_more: boolean };

/**
 * Every message of the user's conversations sent after `after` and at most `upTo` (what the read
 * models have applied), and every older one edited, deleted or reacted to in that range, in global
 * log order: per conversation that is seq order for new messages, each change after the message it
 * changes. Each entry is the message's state now, so a device that applies them in order ends with
 * what history shows. The returned cursor is where the next page starts; with has_more=false it is
 * `upTo`, so live frames above it are new.
 */
export const syncPage = async (
  stores: { history: HistoryStore; inbox: InboxStore },
  userId: string,
  after: number,
  upTo: number,
  limit: number,
): Promise<SyncPage> => {
  if (after >= upTo) return { entries: [], cursor: after, has_more: false };
  const changed = await stores.inbox.changedSince(userId, after);
  const pages = await Promise.all(
    changed.map(async (id): Promise<SyncEntry[]> => {
      const [sent, updated] = await Promise.all([
        stores.history.afterPosition(id, after, upTo, limit + 1),
        stores.history.changedAfter(id, after, upTo, limit + 1),
      ]);
      return [
        ...sent.map((message) => ({ kind: 'new' as const, message, at: message.position })),
        ...updated.map((message) => ({ kind: 'changed' as const, message, at: message.updated_position })),
      ];
    }),
  );
  const all = pages.flat().sort((a, b) => a.at - b.at);
  if (all.length <= limit) return { entries: all, cursor: upTo, has_more: false };
  const entries = all.slice(0, limit);
  return { entries, cursor: entries[entries.length - 1]!.at, has_more: true };
};
