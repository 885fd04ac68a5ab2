import type { ContentType } from './primitives.ts';

// Commands are requests to the deciders. Ids and time are chosen by the handler and come in with the
// command, so `decide` stays pure and deterministic.

export type CreateConversation = {
  type: 'CreateConversation';
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  created_by: string;
  member_ids: string[];
  /** The configured group size limit, decided with the command. */
  max_members: number;
  /** Direct only: the peer has blocked the creator (read from the peer's settings, decided with the command). */
  blocked?: boolean;
  timestamp: number;
};

export type AddMembers = { type: 'AddMembers'; conversation_id: string; user_ids: string[]; by: string; max_members: number; timestamp: number };
export type RemoveMember = { type: 'RemoveMember'; conversation_id: string; user_id: string; by: string; timestamp: number };

export type SendMessage = {
  type: 'SendMessage';
  conversation_id: string;
  message_id: string;
  sender_id: string;
  sender_device_id: string;
  client_msg_id: string;
  content: string;
  content_type: ContentType;
  timestamp: number;
  reply_to_seq?: number;
  mentions?: string[];
  /** Direct only: the other member has blocked the sender (decided with the command). */
  blocked?: boolean;
};

export type EditMessage = {
  type: 'EditMessage';
  conversation_id: string;
  seq: number;
  by: string;
  content: string;
  /** How long after sending the author may edit (configuration, decided with the command). */
  edit_window_ms: number;
  timestamp: number;
};
export type DeleteMessage = { type: 'DeleteMessage'; conversation_id: string; seq: number; by: string; timestamp: number };

export type GrantAdmin = { type: 'GrantAdmin'; conversation_id: string; user_id: string; by: string; timestamp: number };
export type RevokeAdmin = { type: 'RevokeAdmin'; conversation_id: string; user_id: string; by: string; timestamp: number };
export type RenameConversation = { type: 'RenameConversation'; conversation_id: string; title: string; by: string; timestamp: number };

export type SetRetention = { type: 'SetRetention'; conversation_id: string; retention_days: number | null; by: string; timestamp: number };
/** Decided by the conversation's writer when its retention sweep comes round: `default_days` is the server's (null: forever). */
export type ExpireMessages = { type: 'ExpireMessages'; conversation_id: string; default_days: number | null; day_ms: number; timestamp: number };

export type ConversationCommand =
  | CreateConversation
  | AddMembers
  | RemoveMember
  | SendMessage
  | EditMessage
  | DeleteMessage
  | GrantAdmin
  | RevokeAdmin
  | RenameConversation
  | SetRetention
  | ExpireMessages;

/** Commands on a user's own settings (`user-<id>`). */
export type UserCommand =
  | { type: 'MuteConversation'; user_id: string; conversation_id: string; until: number | null; timestamp: number }
  | { type: 'UnmuteConversation'; user_id: string; conversation_id: string; timestamp: number }
  | { type: 'BlockUser'; user_id: string; blocked_user_id: string; timestamp: number }
  | { type: 'UnblockUser'; user_id: string; blocked_user_id: string; timestamp: number }
  | { type: 'SetPrivacy'; user_id: string; last_seen: 'everyone' | 'contacts' | 'nobody'; timestamp: number }
  | { type: 'EraseUser'; user_id: string; by: 'user' | 'operator'; timestamp: number };

export type React = {
  type: 'React';
  conversation_id: string;
  seq: number;
  user_id: string;
  emoji: string;
  op: 'add' | 'remove';
  timestamp: number;
};

export type MarkReceipt = {
  type: 'MarkDelivered' | 'MarkRead';
  conversation_id: string;
  user_id: string;
  up_to_seq: number;
  timestamp: number;
};
