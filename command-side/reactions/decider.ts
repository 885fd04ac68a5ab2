import type { React } from '../../contracts/commands.ts';
import type { ReactionEvent } from '../../contracts/events.ts';
import { NatterError } from '../../contracts/errors.ts';
import { isSingleEmoji, MAX_DISTINCT_REACTIONS, MAX_REACTIONS_PER_USER } from '../../contracts/reactions.ts';
import { assertMember, existingMessage, type Conversation } from '../conversations/decider.ts';

/** A conversation's reactions: seq → emoji → who. */
export type Reactions = Map<number, Map<string, Set<string>>>;

export const initialReactions = (): Reactions => new Map();

/**
 * Reactions are sets: adding one that is there, or removing one that is not, changes nothing. They
 * live in their own stream, but are ruled on against the conversation (membership, the message
 * exists and is not deleted), which the handler reads first.
 */
export const decideReaction = (command: React, state: Reactions, conversation: Conversation): ReactionEvent[] => {
  assertMember(conversation, command.user_id, command.conversation_id);
  const message = existingMessage(conversation, command.seq);
  if (message.deleted) throw new NatterError('message_deleted', `message ${command.seq} was deleted`);
  if (!isSingleEmoji(command.emoji)) throw new NatterError('invalid_request', 'emoji must be exactly one emoji');
  const emojis = state.get(command.seq);
  const users = emojis?.get(command.emoji);
  const data = { conversation_id: command.conversation_id, seq: command.seq, user_id: command.user_id, emoji: command.emoji, timestamp: command.timestamp };
  if (command.op === 'remove') return users?.has(command.user_id) ? [{ type: 'ReactionRemoved', data }] : [];
  if (users?.has(command.user_id)) return [];
  if (!users && (emojis?.size ?? 0) >= MAX_DISTINCT_REACTIONS) {
    throw new NatterError('too_many_reactions', `a message carries at most ${MAX_DISTINCT_REACTIONS} different reactions`);
  }
  const mine = [...(emojis?.values() ?? [])].filter((who) => who.has(command.user_id)).length;
  if (mine >= MAX_REACTIONS_PER_USER) throw new NatterError('too_many_reactions', `one person puts at most ${MAX_REACTIONS_PER_USER} reactions on a message`);
  return [{ type: 'ReactionAdded', data }];
};

export const evolveReactions = (state: Reactions, event: ReactionEvent): Reactions => {
  const { seq, emoji, user_id: userId } = event.data;
  let emojis = state.get(seq);
  if (event.type === 'ReactionAdded') {
    if (!emojis) state.set(seq, (emojis = new Map()));
    let users = emojis.get(emoji);
    if (!users) emojis.set(emoji, (users = new Set()));
    users.add(userId);
  } else if (event.type === 'ReactionRemoved') {
    const users = emojis?.get(emoji);
    users?.delete(userId);
    if (users?.size === 0) emojis!.delete(emoji);
    if (emojis?.size === 0) state.delete(seq);
  }
  return state;
};
