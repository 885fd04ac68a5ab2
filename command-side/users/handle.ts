import { userStream, type UserEvent } from '../../contracts/events.ts';
import type { UserCommand } from '../../contracts/commands.ts';
import type { EventStore } from '../../ports/event-store.ts';
import type { Conversation } from '../conversations/decider.ts';
import type { ConversationHandler } from '../conversations/handle.ts';
import { createStreamHandler } from '../stream-handler.ts';
import { decideUser, evolveUser, initialSettings, type UserSettings } from './decider.ts';

/** A user's settings on `user-<id>`; a mute first reads the conversation (is the user a member?). */
export const createUserHandler = (eventStore: EventStore, conversations: ConversationHandler, options: { cacheSize?: number; onConflict?(): void } = {}) =>
  createStreamHandler<UserSettings, UserCommand, UserEvent, Conversation | undefined>(
    eventStore,
    {
      idOf: (command) => command.user_id,
      streamOf: userStream,
      initialState: initialSettings,
      evolve: evolveUser,
      decide: decideUser,
    },
    {
      cacheSize: options.cacheSize ?? 10_000,
      ...(options.onConflict ? { onConflict: options.onConflict } : {}),
      context: async (command) => (command.type === 'MuteConversation' ? conversations.state(command.conversation_id) : undefined),
    },
  );
export type UserHandler = ReturnType<typeof createUserHandler>;
