import type { UserCommand } from '../../contracts/commands.ts';
import type { LastSeenVisibility, UserEvent } from '../../contracts/events.ts';
import { NatterError } from '../../contracts/errors.ts';
import { assertMember, type Conversation } from '../conversations/decider.ts';

/** A user's own settings: whom they block, what they mute (until when; null: until unmuted), who sees their last seen. */
export type UserSettings = { blocks: Set<string>; mutes: Map<string, number | null>; last_seen: LastSeenVisibility; erased: boolean };

export const initialSettings = (): UserSettings => ({ blocks: new Set(), mutes: new Map(), last_seen: 'everyone', erased: false });

/** The furthest a mute may reach: ten years is "for good" in practice, and keeps timestamps sane. */
export const MAX_MUTE_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * Mutes, blocks and privacy. Muting needs membership of the conversation (read by the handler and
 * passed in); setting what is already set changes nothing; a mute that has run out counts as none.
 */
export const decideUser = (command: UserCommand, state: UserSettings, conversation: Conversation | undefined): UserEvent[] => {
  const { user_id: userId, timestamp } = command;
  switch (command.type) {
    case 'MuteConversation': {
      assertMember(conversation!, userId, command.conversation_id);
      const { until } = command;
      if (until !== null && (until <= timestamp || until > timestamp + MAX_MUTE_MS)) {
        throw new NatterError('invalid_request', 'until must be a time in the future (milliseconds since the epoch, at most ten years ahead), or null');
      }
      if (state.mutes.has(command.conversation_id) && state.mutes.get(command.conversation_id) === until) return [];
      return [{ type: 'ConversationMuted', data: { user_id: userId, conversation_id: command.conversation_id, until, timestamp } }];
    }
    case 'UnmuteConversation': {
      const until = state.mutes.get(command.conversation_id);
      if (until === undefined || (until !== null && until <= timestamp)) return [];
      return [{ type: 'ConversationUnmuted', data: { user_id: userId, conversation_id: command.conversation_id, timestamp } }];
    }
    case 'BlockUser':
      if (command.blocked_user_id === userId) throw new NatterError('invalid_request', 'you cannot block yourself');
      return state.blocks.has(command.blocked_user_id)
        ? []
        : [{ type: 'UserBlocked', data: { user_id: userId, blocked_user_id: command.blocked_user_id, timestamp } }];
    case 'UnblockUser':
      return state.blocks.has(command.blocked_user_id)
        ? [{ type: 'UserUnblocked', data: { user_id: userId, blocked_user_id: command.blocked_user_id, timestamp } }]
        : [];
    case 'SetPrivacy':
      return state.last_seen === command.last_seen ? [] : [{ type: 'PrivacyChanged', data: { user_id: userId, last_seen: command.last_seen, timestamp } }];
    case 'EraseUser':
      return state.erased ? [] : [{ type: 'UserErased', data: { user_id: userId, by: command.by, timestamp } }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
};

export const evolveUser = (state: UserSettings, event: UserEvent): UserSettings => {
  switch (event.type) {
    case 'ConversationMuted':
      state.mutes.set(event.data.conversation_id, event.data.until);
      break;
    case 'ConversationUnmuted':
      state.mutes.delete(event.data.conversation_id);
      break;
    case 'UserBlocked':
      state.blocks.add(event.data.blocked_user_id);
      break;
    case 'UserUnblocked':
      state.blocks.delete(event.data.blocked_user_id);
      break;
    case 'PrivacyChanged':
      state.last_seen = event.data.last_seen;
      break;
    case 'UserErased':
      state.erased = true;
      break;
    default:
      break; // a newer version's event: nothing this version decides depends on it
  }
  return state;
};
