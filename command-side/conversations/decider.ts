import type {
  ConversationCommand,
  CreateConversation,
  AddMembers,
  RemoveMember,
  SendMessage,
  EditMessage,
  DeleteMessage,
  GrantAdmin,
  RevokeAdmin,
  RenameConversation,
  SetRetention,
  ExpireMessages,
} from '../../contracts/commands.ts';
import { MessageIndex, type IndexedMessage } from './message-index.ts';
import type { ConversationEvent } from '../../contracts/events.ts';
import { NatterError } from '../../contracts/errors.ts';

/** What a retry with the same client_msg_id gets back. */
export type SentAck = { message_id: string; seq: number; timestamp: number };

export type Conversation = {
  exists: boolean;
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  created_by: string;
  members: Set<string>;
  former_members: Set<string>;
  /** Members who may remove others and delete any message: the creator of a group, to begin with. */
  admins: Set<string>;
  last_seq: number;
  /** Every message's sender, time, kind and whether it was deleted: what edits, deletes, reactions and replies are ruled on. */
  messages: MessageIndex;
  /** The conversation's own retention (null: the server's default). */
  retention_days: number | null;
  /** Messages up to this seq have expired: they exist for nobody any more. */
  expired_seq: number;
  /** Dedup window, oldest first: `${sender}\u0000${client_msg_id}` → ack. */
  sent: Map<string, SentAck>;
};

// A retry is answered from the stream for a day (seed 000's dedup TTL); the cap bounds a hot
// conversation's memory. Both are part of the domain so that every process decides the same.
export const DEDUP_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEDUP_MAX_ENTRIES = 100_000;

export const initialState = (): Conversation => ({
  exists: false,
  conversation_id: '',
  kind: 'group',
  title: null,
  created_by: '',
  members: new Set(),
  former_members: new Set(),
  admins: new Set(),
  last_seq: 0,
  messages: new MessageIndex(),
  sent: new Map(),
  retention_days: null,
  expired_seq: 0,
});

export const dedupKey = (senderId: string, clientMsgId: string) => `${senderId}\u0000${clientMsgId}`;

/** Never-members learn nothing (404); former members are told they left (403). */
export const assertMember = (state: Conversation, userId: string, conversationId: string): void => {
  if (state.exists && state.members.has(userId)) return;
  if (state.exists && state.former_members.has(userId)) {
    throw new NatterError('not_a_member', `user ${userId} is no longer a member of conversation ${conversationId}`);
  }
  throw new NatterError('conversation_not_found', `conversation ${conversationId} not found`);
};

/** The message a command names: unknown seqs are 404, like a missing conversation. */
export const existingMessage = (state: Conversation, seq: number): IndexedMessage => {
  const message = seq > state.expired_seq ? state.messages.get(seq) : undefined;
  if (!message) throw new NatterError('message_not_found', `conversation ${state.conversation_id} has no message ${seq}`);
  return message;
};

export const decide = (command: ConversationCommand, state: Conversation): ConversationEvent[] => {
  switch (command.type) {
    case 'CreateConversation':
      return create(command, state);
    case 'AddMembers':
      return addMembers(command, state);
    case 'RemoveMember':
      return removeMember(command, state);
    case 'SendMessage':
      return sendMessage(command, state);
    case 'EditMessage':
      return editMessage(command, state);
    case 'DeleteMessage':
      return deleteMessage(command, state);
    case 'GrantAdmin':
      return grantAdmin(command, state);
    case 'RevokeAdmin':
      return revokeAdmin(command, state);
    case 'RenameConversation':
      return rename(command, state);
    case 'SetRetention':
      return setRetention(command, state);
    case 'ExpireMessages':
      return expire(command, state);
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
};

const create = (command: CreateConversation, state: Conversation): ConversationEvent[] => {
  if (command.blocked) throw new NatterError('blocked', `${command.member_ids[0]} does not accept messages from you`);
  if (state.exists) {
    // A direct conversation's id is derived from its pair, so creating it twice is the same request.
    if (state.kind === 'direct' && command.kind === 'direct') return [];
    throw new NatterError('version_conflict', `conversation ${command.conversation_id} already exists`);
  }
  const members = [...new Set([command.created_by, ...command.member_ids])];
  if (command.kind === 'direct' && members.length !== 2) {
    throw new NatterError('invalid_request', 'a direct conversation needs exactly one peer other than yourself');
  }
  const max = command.max_members;
  if (members.length > max) {
    throw new NatterError('group_too_large', `a group holds at most ${max} members, ${members.length} requested`);
  }
  return [
    {
      type: 'ConversationCreated',
      data: {
        conversation_id: command.conversation_id,
        kind: command.kind,
        title: command.kind === 'group' ? command.title : null,
        created_by: command.created_by,
        member_ids: members,
        timestamp: command.timestamp,
      },
    },
  ];
};

const addMembers = (command: AddMembers, state: Conversation): ConversationEvent[] => {
  assertMember(state, command.by, command.conversation_id);
  if (state.kind === 'direct') throw new NatterError('invalid_request', 'members of a direct conversation cannot change');
  const fresh = [...new Set(command.user_ids)].filter((id) => !state.members.has(id));
  if (fresh.length === 0) return [];
  const max = command.max_members;
  if (state.members.size + fresh.length > max) {
    throw new NatterError('group_too_large', `a group holds at most ${max} members, ${state.members.size + fresh.length} requested`);
  }
  return [
    {
      type: 'MembersAdded',
      data: {
        conversation_id: command.conversation_id,
        user_ids: fresh,
        added_by: command.by,
        timestamp: command.timestamp,
      },
    },
  ];
};

const removeMember = (command: RemoveMember, state: Conversation): ConversationEvent[] => {
  assertMember(state, command.by, command.conversation_id);
  if (state.kind === 'direct') throw new NatterError('invalid_request', 'members of a direct conversation cannot change');
  if (!state.members.has(command.user_id)) return [];
  if (command.by !== command.user_id && !state.admins.has(command.by)) {
    throw new NatterError('forbidden', 'only a group admin can remove other members');
  }
  const removed: ConversationEvent = {
    type: 'MemberRemoved',
    data: {
      conversation_id: command.conversation_id,
      user_id: command.user_id,
      removed_by: command.by,
      timestamp: command.timestamp,
    },
  };
  // A group never stays without an admin while it has members: the longest-standing member succeeds the last one.
  const lastAdmin = state.admins.size === 1 && state.admins.has(command.user_id);
  const successor = lastAdmin ? [...state.members].find((m) => m !== command.user_id) : undefined;
  if (!successor) return [removed];
  return [
    removed,
    {
      type: 'AdminGranted',
      data: {
        conversation_id: command.conversation_id,
        user_id: successor,
        granted_by: command.user_id,
        reason: 'succession',
        timestamp: command.timestamp,
      },
    },
  ];
};

const assertGroupAdmin = (state: Conversation, by: string, conversationId: string, what: string) => {
  assertMember(state, by, conversationId);
  if (state.kind === 'direct') throw new NatterError('invalid_request', `a direct conversation has no admins; ${what} is for groups`);
  if (!state.admins.has(by)) throw new NatterError('forbidden', `only a group admin can ${what}`);
};

const grantAdmin = (command: GrantAdmin, state: Conversation): ConversationEvent[] => {
  assertGroupAdmin(state, command.by, command.conversation_id, 'make admins');
  if (!state.members.has(command.user_id)) throw new NatterError('invalid_request', `${command.user_id} is not a member of this group`);
  if (state.admins.has(command.user_id)) return [];
  return [
    {
      type: 'AdminGranted',
      data: {
        conversation_id: command.conversation_id,
        user_id: command.user_id,
        granted_by: command.by,
        reason: 'granted',
        timestamp: command.timestamp,
      },
    },
  ];
};

const revokeAdmin = (command: RevokeAdmin, state: Conversation): ConversationEvent[] => {
  assertGroupAdmin(state, command.by, command.conversation_id, 'remove admins');
  if (!state.admins.has(command.user_id)) return [];
  if (state.admins.size === 1) throw new NatterError('last_admin', 'a group keeps at least one admin: make someone else admin first');
  return [
    {
      type: 'AdminRevoked',
      data: { conversation_id: command.conversation_id, user_id: command.user_id, revoked_by: command.by, timestamp: command.timestamp },
    },
  ];
};

/** Groups: admins choose; a direct conversation has no admins, so either member does. */
const setRetention = (command: SetRetention, state: Conversation): ConversationEvent[] => {
  assertMember(state, command.by, command.conversation_id);
  if (state.kind === 'group' && !state.admins.has(command.by)) throw new NatterError('forbidden', "only a group admin can change the group's retention");
  if (state.retention_days === command.retention_days) return [];
  return [
    {
      type: 'RetentionChanged',
      data: { conversation_id: command.conversation_id, retention_days: command.retention_days, changed_by: command.by, timestamp: command.timestamp },
    },
  ];
};

/** Expiry is an event, so that every replay agrees on what is gone: the messages sent before the horizon. */
const expire = (command: ExpireMessages, state: Conversation): ConversationEvent[] => {
  const days = state.retention_days ?? command.default_days;
  if (!state.exists || days === null) return [];
  const horizon = command.timestamp - days * command.day_ms;
  let upTo = state.expired_seq;
  // Seqs are in time order (one writer stamps them), so the expired ones are a prefix.
  for (let seq = upTo + 1; seq <= state.last_seq && state.messages.get(seq)!.timestamp < horizon; seq++) upTo = seq;
  if (upTo === state.expired_seq) return [];
  return [{ type: 'MessagesExpired', data: { conversation_id: command.conversation_id, up_to_seq: upTo, horizon, timestamp: command.timestamp } }];
};

const rename = (command: RenameConversation, state: Conversation): ConversationEvent[] => {
  assertGroupAdmin(state, command.by, command.conversation_id, 'rename the group');
  if (state.title === command.title) return [];
  return [
    {
      type: 'ConversationRenamed',
      data: { conversation_id: command.conversation_id, title: command.title, renamed_by: command.by, timestamp: command.timestamp },
    },
  ];
};

const sendMessage = (command: SendMessage, state: Conversation): ConversationEvent[] => {
  assertMember(state, command.sender_id, command.conversation_id);
  const first = state.sent.get(dedupKey(command.sender_id, command.client_msg_id));
  if (first && first.timestamp >= command.timestamp - DEDUP_WINDOW_MS) return [];
  if (command.blocked && state.kind === 'direct') throw new NatterError('blocked', 'the other member does not accept messages from you');
  if (command.reply_to_seq !== undefined) existingMessage(state, command.reply_to_seq);
  const mentions = command.mentions === undefined ? undefined : [...new Set(command.mentions)];
  const strangers = mentions?.filter((userId) => !state.members.has(userId)) ?? [];
  if (strangers.length > 0)
    throw new NatterError(
      'invalid_request',
      `mentions must name members of the conversation; ${strangers.slice(0, 3).join(', ')} ${strangers.length === 1 ? 'is' : 'are'} not`,
    );
  return [
    {
      type: 'MessageSent',
      data: {
        conversation_id: command.conversation_id,
        message_id: command.message_id,
        seq: state.last_seq + 1,
        sender_id: command.sender_id,
        sender_device_id: command.sender_device_id,
        client_msg_id: command.client_msg_id,
        content: command.content,
        content_type: command.content_type,
        timestamp: command.timestamp,
        ...(command.reply_to_seq !== undefined ? { reply_to_seq: command.reply_to_seq } : {}),
        ...(mentions && mentions.length > 0 ? { mentions } : {}),
      },
    },
  ];
};

const editMessage = (command: EditMessage, state: Conversation): ConversationEvent[] => {
  assertMember(state, command.by, command.conversation_id);
  const message = existingMessage(state, command.seq);
  if (message.deleted) throw new NatterError('message_deleted', `message ${command.seq} was deleted`);
  if (message.sender_id !== command.by) throw new NatterError('forbidden', 'only the author can edit a message');
  if (message.content_type === 'media') throw new NatterError('invalid_request', 'a media message cannot be edited; delete it and send another');
  if (command.timestamp - message.timestamp > command.edit_window_ms) {
    throw new NatterError('edit_window_closed', `messages can be edited for ${Math.round(command.edit_window_ms / 1000)} s after they are sent`);
  }
  return [
    {
      type: 'MessageEdited',
      data: {
        conversation_id: command.conversation_id,
        seq: command.seq,
        edited_by: command.by,
        content: command.content,
        content_type: message.content_type,
        timestamp: command.timestamp,
      },
    },
  ];
};

const deleteMessage = (command: DeleteMessage, state: Conversation): ConversationEvent[] => {
  assertMember(state, command.by, command.conversation_id);
  const message = existingMessage(state, command.seq);
  if (message.deleted) return [];
  if (message.sender_id !== command.by && !state.admins.has(command.by))
    throw new NatterError('forbidden', 'only the author or a group admin can delete a message');
  return [
    {
      type: 'MessageDeleted',
      data: {
        conversation_id: command.conversation_id,
        seq: command.seq,
        deleted_by: command.by,
        timestamp: command.timestamp,
      },
    },
  ];
};

/**
 * Applies an event. It updates `state` in place and returns it: a conversation's state is owned by
 * one writer and thrown away whole when an append fails, and copying a large dedup window per
 * message would make hot conversations quadratic.
 */
export const evolve = (state: Conversation, event: ConversationEvent): Conversation => {
  switch (event.type) {
    case 'ConversationCreated': {
      const e = event.data;
      Object.assign(state, { exists: true, conversation_id: e.conversation_id, kind: e.kind, title: e.title, created_by: e.created_by });
      for (const id of e.member_ids) state.members.add(id);
      if (e.kind === 'group') state.admins.add(e.created_by);
      return state;
    }
    case 'MembersAdded':
      for (const id of event.data.user_ids) {
        state.members.add(id);
        state.former_members.delete(id);
      }
      return state;
    case 'MemberRemoved':
      state.members.delete(event.data.user_id);
      state.former_members.add(event.data.user_id);
      state.admins.delete(event.data.user_id);
      return state;
    case 'MessageSent': {
      const e = event.data;
      state.last_seq = e.seq;
      state.messages.append(e.seq, e.sender_id, e.timestamp, e.content_type);
      state.sent.set(dedupKey(e.sender_id, e.client_msg_id), { message_id: e.message_id, seq: e.seq, timestamp: e.timestamp });
      evictDedup(state.sent, e.timestamp);
      return state;
    }
    case 'MessageEdited':
      return state;
    case 'AdminGranted':
      state.admins.add(event.data.user_id);
      return state;
    case 'AdminRevoked':
      state.admins.delete(event.data.user_id);
      return state;
    case 'ConversationRenamed':
      state.title = event.data.title;
      return state;
    case 'RetentionChanged':
      state.retention_days = event.data.retention_days;
      return state;
    case 'MessagesExpired':
      state.expired_seq = Math.max(state.expired_seq, event.data.up_to_seq);
      return state;
    case 'MessageDeleted':
      state.messages.markDeleted(event.data.seq);
      return state;
    default:
      // An event type this version does not know (a newer process wrote it during a rolling deploy):
      // nothing this version decides depends on it.
      return state;
  }
};

const evictDedup = (sent: Map<string, SentAck>, now: number) => {
  for (const [key, ack] of sent) {
    if (ack.timestamp >= now - DEDUP_WINDOW_MS && sent.size <= DEDUP_MAX_ENTRIES) break;
    sent.delete(key);
  }
};
