import type { HistoryStore, InboxStore, StoredMessage } from '../ports/read-models.ts';

export const DEFAULT_SYNC_LIMIT = 500;

export type SyncPage = { items: StoredMessage[]; cursor: number; has_more: boolean };

/**
 * Every message of the user's conversations after `after` and at most `upTo` (what the read models
 * have applied), in global log order: per conversation that is seq order. The returned cursor is
 * where the next page starts; with has_more=false it is `upTo`, so live frames above it are new.
 */
export const syncPage = async (
  stores: { history: HistoryStore; inbox: InboxStore },
  userId: string, after: number, upTo: number, limit: number,
): Promise<SyncPage> => {
  if (after >= upTo) return { items: [], cursor: after, has_more: false };
  const changed = await stores.inbox.changedSince(userId, after);
  const pages = await Promise.all(changed.map((id) => stores.history.afterPosition(id, after, upTo, limit + 1)));
  const all = pages.flat().sort((a, b) => a.position - b.position);
  if (all.length <= limit) return { items: all, cursor: upTo, has_more: false };
  const items = all.slice(0, limit);
  return { items, cursor: items[items.length - 1]!.position, has_more: true };
};
