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
};

export type ConversationCommand = CreateConversation | AddMembers | RemoveMember | SendMessage;

export type MarkReceipt = {
  type: 'MarkDelivered' | 'MarkRead';
  conversation_id: string;
  user_id: string;
  up_to_seq: number;
  timestamp: number;
};

