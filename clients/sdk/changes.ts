import type { Message, MessageUpdatedFrame, ReactionFrame } from './wire.ts';

/** `user_ids` of a reaction summary lists at most this many reactors (REACTION_USER_IDS_SHOWN in contracts/reactions.ts; a unit test keeps them equal). */
export const REACTORS_SHOWN = 20;

/**
 * A message after an `updated` event. Live frames carry the text, `edited_at` and `deleted`; synced
 * ones carry the whole state, `reactions` and `reply_count` too. Applying one twice changes nothing.
 */
export const applyUpdate = (message: Message, update: MessageUpdatedFrame): Message => ({
  ...message,
  content: update.content,
  // The frame of a delete says null; history keeps the time of the last edit.
  edited_at: update.edited_at ?? (update.deleted ? message.edited_at : null),
  deleted: update.deleted,
  ...(update.deleted ? { mentions: [], reactions: [] } : {}),
  ...(update.reactions ? { reactions: update.reactions } : {}),
  ...(update.reply_count !== undefined ? { reply_count: update.reply_count } : {}),
});

/**
 * A message after a `reaction` event. Reactions are sets, so applying one twice changes nothing,
 * except past the first 20 reactors of an emoji, where `user_ids` no longer tells who is in.
 */
export const applyReaction = (message: Message, reaction: ReactionFrame): Message => {
  if (message.deleted) return message;
  const index = message.reactions.findIndex((r) => r.emoji === reaction.emoji);
  const summary = message.reactions[index];
  const complete = summary ? summary.user_ids.length === summary.count : true;
  const listed = summary?.user_ids.includes(reaction.user_id) ?? false;
  const reactions = [...message.reactions];
  if (reaction.op === 'add') {
    if (listed) return message;
    if (!summary) reactions.push({ emoji: reaction.emoji, count: 1, user_ids: [reaction.user_id] });
    else {
      const user_ids = summary.user_ids.length < REACTORS_SHOWN ? [...summary.user_ids, reaction.user_id] : summary.user_ids;
      reactions[index] = { ...summary, count: summary.count + 1, user_ids };
    }
  } else {
    if (!summary || (!listed && complete)) return message;
    if (summary.count === 1) reactions.splice(index, 1);
    else reactions[index] = { ...summary, count: summary.count - 1, user_ids: summary.user_ids.filter((u) => u !== reaction.user_id) };
  }
  return { ...message, reactions };
};

/** Whether `userId` has put `emoji` on the message (as far as the first 20 reactors tell). */
export const hasReacted = (message: Message, emoji: string, userId: string): boolean =>
  message.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(userId));
