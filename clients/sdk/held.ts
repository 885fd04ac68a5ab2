import { newerCursor } from './urls.ts';
import type { Message, MessageUpdatedFrame, ReactionFrame } from './wire.ts';

/** A frame with a log position, received while a sync is running and held until the sync page that covers it is done. */
export type Held = { kind: 'message'; value: Message } | { kind: 'updated'; value: MessageUpdatedFrame } | { kind: 'reaction'; value: ReactionFrame };

const byCursor = (a: Held, b: Held) => (a.value.cursor === b.value.cursor ? 0 : newerCursor(a.value.cursor, b.value.cursor) ? 1 : -1);

/**
 * Splits the held frames at a finished sync page: those up to its cursor (all of them after the
 * last page) in log order, to emit now, and the rest, to keep. Live frames can pass synced ones
 * (the server holds live frames back only from the `sync` frame on), hence the sort.
 */
export const releaseHeld = (held: Held[], cursor: string, last: boolean, seen: (messageId: string) => boolean): { ready: Held[]; rest: Held[] } => {
  const sorted = [...held].sort(byCursor);
  const ready = last ? sorted : sorted.filter((h) => !newerCursor(h.value.cursor, cursor));
  const rest = last ? [] : sorted.filter((h) => newerCursor(h.value.cursor, cursor));
  return { ready: countRepliesOnce([...ready, ...rest], ready.length, seen), rest };
};

/**
 * A synced message, or a synced `message_updated`, carries its `reply_count` as it is now, which
 * already counts the replies that come after it in the same sync. An app adds one to the parent
 * for every new reply it sees (a live `new_message` always says 0), so those replies would count
 * twice: the first `readyCount` frames get their `reply_count` as of their place in the log
 * instead, by taking off the replies not seen yet that follow them in `frames`. Replies in later
 * sync pages are not known yet; a sync of more than one page can still count one of those twice.
 */
export const countRepliesOnce = (frames: Held[], readyCount: number, seen: (messageId: string) => boolean): Held[] => {
  const ready = frames.slice(0, readyCount);
  const later = new Map<string, Set<string>>();
  for (let i = frames.length - 1; i >= 0; i--) {
    const frame = frames[i]!;
    const key = `${frame.value.conversation_id}:${frame.value.seq}`;
    const follow = later.get(key)?.size ?? 0;
    if (i < readyCount && follow > 0) {
      if (frame.kind === 'message') ready[i] = { kind: 'message', value: { ...frame.value, reply_count: Math.max(0, frame.value.reply_count - follow) } };
      if (frame.kind === 'updated' && frame.value.reply_count !== undefined) {
        ready[i] = { kind: 'updated', value: { ...frame.value, reply_count: Math.max(0, frame.value.reply_count - follow) } };
      }
    }
    if (frame.kind === 'message' && frame.value.reply_to_seq !== null && !seen(frame.value.message_id)) {
      const parent = `${frame.value.conversation_id}:${frame.value.reply_to_seq}`;
      const replies = later.get(parent) ?? new Set<string>();
      later.set(parent, replies.add(frame.value.message_id));
    }
  }
  return ready;
};
