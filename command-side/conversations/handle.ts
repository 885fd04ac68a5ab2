import { conversationStream, type ConversationEvent } from '../../contracts/events.ts';
import type { ConversationCommand } from '../../contracts/commands.ts';
import type { EventStore } from '../../ports/event-store.ts';
import { createStreamHandler, type Handled as StreamHandled } from '../stream-handler.ts';
import { decide, evolve, initialState, type Conversation } from './decider.ts';

export type Handled = StreamHandled<Conversation, ConversationEvent>;

/** Conversation commands: messages, edits, deletes and membership, on `conversation-<id>` (stream-handler.ts). */
export const createConversationHandler = (eventStore: EventStore, options: { cacheSize?: number; onConflict?(): void } = {}) =>
  createStreamHandler<Conversation, ConversationCommand, ConversationEvent>(eventStore, {
    idOf: (command) => command.conversation_id,
    streamOf: conversationStream, initialState, evolve, decide: (command, state) => decide(command, state),
  }, options);
export type ConversationHandler = ReturnType<typeof createConversationHandler>;
