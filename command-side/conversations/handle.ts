import { conversationStream, type ConversationEvent } from '../../contracts/events.ts';
import type { ConversationCommand } from '../../contracts/commands.ts';
import type { EventStore } from '../../ports/event-store.ts';
import type { ConversationView } from '../../ports/live-feed.ts';
import { createStreamHandler, type Handled as StreamHandled } from '../stream-handler.ts';
import { decide, evolve, initialState, type Conversation } from './decider.ts';

export type Handled = StreamHandled<Conversation, ConversationEvent, ConversationView>;

const changesMembership = (event: ConversationEvent) => event.type !== 'MessageSent' && event.type !== 'MessageEdited' && event.type !== 'MessageDeleted';

/** The conversation as its frames show it; `members` and `admins` are copies, since later commands change the state in place. */
export const viewOf = (state: Conversation): ConversationView => ({
  conversation_id: state.conversation_id,
  kind: state.kind,
  title: state.title,
  members: new Set(state.members),
  admins: new Set(state.admins),
});

/**
 * Conversation commands: messages, edits, deletes and membership, on `conversation-<id>` (stream-handler.ts).
 * A change of members, admins or title keeps a view of the conversation as of its events, for its
 * live frames (a message's frames need only the members, read when it is acknowledged).
 */
export const createConversationHandler = (eventStore: EventStore, options: { cacheSize?: number; onConflict?(): void } = {}) =>
  createStreamHandler<Conversation, ConversationCommand, ConversationEvent, undefined, ConversationView>(
    eventStore,
    {
      idOf: (command) => command.conversation_id,
      streamOf: conversationStream,
      initialState,
      evolve,
      decide: (command, state) => decide(command, state),
    },
    { ...options, snapshot: (state, events) => (events.some(changesMembership) ? viewOf(state) : undefined) },
  );
export type ConversationHandler = ReturnType<typeof createConversationHandler>;
