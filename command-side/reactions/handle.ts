import { reactionsStream, type ReactionEvent } from '../../contracts/events.ts';
import type { React } from '../../contracts/commands.ts';
import type { EventStore } from '../../ports/event-store.ts';
import type { Conversation } from '../conversations/decider.ts';
import type { ConversationHandler } from '../conversations/handle.ts';
import { createStreamHandler } from '../stream-handler.ts';
import { decideReaction, evolveReactions, initialReactions, type Reactions } from './decider.ts';

/**
 * Reactions go to `reactions-<id>`, with their own expected revision: a busy group's reactions never
 * wait for, conflict with or reorder its messages. Each command reads the conversation's state first
 * (membership, the message, whether it was deleted).
 */
export const createReactionHandler = (eventStore: EventStore, conversations: ConversationHandler, options: { cacheSize?: number; onConflict?(): void } = {}) =>
  createStreamHandler<Reactions, React, ReactionEvent, Conversation>(
    eventStore,
    {
      idOf: (command) => command.conversation_id,
      streamOf: reactionsStream,
      initialState: initialReactions,
      evolve: evolveReactions,
      decide: decideReaction,
    },
    {
      cacheSize: options.cacheSize ?? 1_000,
      ...(options.onConflict ? { onConflict: options.onConflict } : {}),
      context: (command) => conversations.state(command.conversation_id),
    },
  );
export type ReactionHandler = ReturnType<typeof createReactionHandler>;
