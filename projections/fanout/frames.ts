import type { NewMessageFrame, MessageStatusFrame, ConversationUpdatedFrame, MessageUpdatedFrame, ReactionFrame } from '../../contracts/frames.ts';
import type { ConversationKind, NatterEvent } from '../../contracts/events.ts';
import type { Outbound } from '../../ports/delivery.ts';

/**
 * The live frames of an event, built once for both paths that send them: the fan-out reactor (after
 * the projector workers applied the event) and, in the cluster, the fast path (the owner gateway,
 * right after the append). Both must send the same frame for the same event, since a device's
 * connection keeps only the first copy of each (gateway/live-order.ts).
 */

/** An event and its position in the log: a recorded event, or one just appended (the append's position). */
export type LiveEvent = NatterEvent & { position: number };

/** A conversation as a `conversation_updated` frame shows it; members and admins in byte order. */
export type ConversationState = { kind: ConversationKind; title: string | null; members: readonly string[]; admins: readonly string[] };

export type LiveFrame = { users: readonly string[]; frame: Outbound };

type MembershipEvent = Extract<
  LiveEvent,
  { type: 'ConversationCreated' | 'MembersAdded' | 'MemberRemoved' | 'AdminGranted' | 'AdminRevoked' | 'ConversationRenamed' }
>;
type MessageEvent = Extract<
  LiveEvent,
  { type: 'MessageSent' | 'MessageEdited' | 'MessageDeleted' | 'ReactionAdded' | 'ReactionRemoved' | 'MessageDelivered' | 'MessageRead' }
>;

/**
 * What an event's frames need to know of its conversation: its members (messages, their changes,
 * receipts), its whole state (membership, admins, renames), or nothing: it makes no live frame.
 */
export const audienceOf = (event: NatterEvent): 'members' | 'state' | null => {
  switch (event.type) {
    case 'MessageSent':
    case 'MessageEdited':
    case 'MessageDeleted':
    case 'ReactionAdded':
    case 'ReactionRemoved':
    case 'MessageDelivered':
    case 'MessageRead':
      return 'members';
    case 'ConversationCreated':
    case 'MembersAdded':
    case 'MemberRemoved':
    case 'AdminGranted':
    case 'AdminRevoked':
    case 'ConversationRenamed':
      return 'state';
    default:
      return null;
  }
};

export const isMembershipEvent = (event: LiveEvent): event is MembershipEvent => audienceOf(event) === 'state';
export const isMessageEvent = (event: LiveEvent): event is MessageEvent => audienceOf(event) === 'members';

const message = (event: LiveEvent, conversation: string, seq: number, json: string, isNew = false): Outbound => ({
  kind: 'message',
  json,
  position: event.position,
  conversation,
  seq,
  ...(isNew ? { isNew } : {}),
});

/**
 * Messages, edits, deletes, reactions and receipts, to every member (the sender's other devices
 * included). Above `statusFanoutMaxMembers`, a receipt goes to the reader's own devices only.
 */
export const messageFrames = (event: MessageEvent, members: readonly string[], cursor: string, statusFanoutMaxMembers: number): LiveFrame[] => {
  switch (event.type) {
    case 'MessageSent': {
      const e = event.data;
      const frame: NewMessageFrame = {
        type: 'new_message',
        message_id: e.message_id,
        conversation_id: e.conversation_id,
        seq: e.seq,
        sender_id: e.sender_id,
        content: e.content,
        content_type: e.content_type,
        client_msg_id: e.client_msg_id,
        timestamp: e.timestamp,
        edited_at: null,
        deleted: false,
        erased: false,
        reply_to_seq: e.reply_to_seq ?? null,
        reply_count: 0,
        mentions: e.mentions ?? [],
        reactions: [],
        cursor,
      };
      return [{ users: members, frame: message(event, e.conversation_id, e.seq, JSON.stringify(frame), true) }];
    }
    case 'MessageEdited':
    case 'MessageDeleted': {
      const e = event.data;
      const frame: MessageUpdatedFrame =
        event.type === 'MessageEdited'
          ? {
              type: 'message_updated',
              conversation_id: e.conversation_id,
              seq: e.seq,
              content: event.data.content,
              edited_at: event.data.timestamp,
              deleted: false,
              cursor,
            }
          : { type: 'message_updated', conversation_id: e.conversation_id, seq: e.seq, content: '', edited_at: null, deleted: true, cursor };
      return [{ users: members, frame: message(event, e.conversation_id, e.seq, JSON.stringify(frame)) }];
    }
    case 'ReactionAdded':
    case 'ReactionRemoved': {
      const e = event.data;
      const frame: ReactionFrame = {
        type: 'reaction',
        conversation_id: e.conversation_id,
        seq: e.seq,
        emoji: e.emoji,
        user_id: e.user_id,
        op: event.type === 'ReactionAdded' ? 'add' : 'remove',
        cursor,
      };
      return [{ users: members, frame: message(event, e.conversation_id, e.seq, JSON.stringify(frame)) }];
    }
    case 'MessageDelivered':
    case 'MessageRead': {
      const e = event.data;
      const frame: MessageStatusFrame = {
        type: 'message_status',
        conversation_id: e.conversation_id,
        user_id: e.user_id,
        status: event.type === 'MessageRead' ? 'read' : 'delivered',
        up_to_seq: e.up_to_seq,
        timestamp: e.timestamp,
      };
      const users = members.length <= statusFanoutMaxMembers ? members : [e.user_id];
      return [{ users, frame: { kind: 'status', json: JSON.stringify(frame), position: event.position, conversation: e.conversation_id } }];
    }
  }
};

/** The conversation's state to its members; a removed member is told, with no members and admins. */
export const membershipFrames = (event: MembershipEvent, state: ConversationState, cursor: string): LiveFrame[] => {
  const id = event.data.conversation_id;
  const frame: ConversationUpdatedFrame = {
    type: 'conversation_updated',
    conversation_id: id,
    kind: state.kind,
    title: state.title,
    members: [...state.members],
    admins: [...state.admins],
    cursor,
  };
  const outbound = (json: string): Outbound => ({ kind: 'conversation', json, position: event.position, conversation: id });
  const frames: LiveFrame[] = [{ users: state.members, frame: outbound(JSON.stringify(frame)) }];
  if (event.type === 'MemberRemoved') {
    frames.push({ users: [event.data.user_id], frame: outbound(JSON.stringify({ ...frame, members: [], admins: [], removed: true })) });
  }
  return frames;
};
