import type { NewMessageFrame, MessageStatusFrame, ConversationUpdatedFrame, MessageUpdatedFrame, ReactionFrame } from '../../contracts/frames.ts';
import type { DirectoryStore } from '../../ports/read-models.ts';
import type { Delivery } from '../../ports/delivery.ts';
import type { Reactor, Recorded } from '../../ports/projector.ts';
import type { Metrics } from '../../ports/metrics.ts';

export type FanoutOptions = {
  /** Above this size, a member's receipts go to their own devices only, not to the whole group. */
  statusFanoutMaxMembers?: number;
  cacheSize?: number;
  metrics?: Metrics;
  /**
   * The cursor a frame carries for an event at `position`. Embedded: the position itself. Cluster:
   * never above the low watermark, so that a device's cursor never passes an event that a slower
   * partition has not applied yet (sync from it would skip that event).
   */
  cursorFor?(position: number): number;
};

/**
 * Pushes every message, receipt and membership change to the devices of the conversation's
 * members (the sender's other devices included), serializing each frame once. Runs after the
 * directory projector has applied the same batch, so membership is never behind the event. A
 * device that misses a push (offline, cut off) gets it back with `sync`.
 */
export const fanoutReactor = (directory: DirectoryStore, delivery: Delivery, options: FanoutOptions = {}): Reactor => {
  const statusMax = options.statusFanoutMaxMembers ?? 256;
  const cacheSize = options.cacheSize ?? 10_000;
  const members = new Map<string, readonly string[]>();

  const load = async (conversationId: string): Promise<readonly string[]> => {
    const loaded = await directory.members(conversationId);
    members.set(conversationId, loaded);
    if (members.size > cacheSize) members.delete(members.keys().next().value!);
    return loaded;
  };
  /** Calls `then` with the members at once when they are cached, so that a busy batch allocates no promise per event. */
  const withMembers = (conversationId: string, then: (all: readonly string[]) => void): Promise<void> | undefined => {
    const cached = members.get(conversationId);
    if (cached) { then(cached); return undefined; }
    return load(conversationId).then(then);
  };

  const react = (event: Recorded): Promise<void> | undefined => {
    const cursor = String(options.cursorFor ? Math.min(event.position, options.cursorFor(event.position)) : event.position);
    switch (event.type) {
      case 'MessageSent': {
        const e = event.data;
        const frame: NewMessageFrame = {
          type: 'new_message', message_id: e.message_id, conversation_id: e.conversation_id, seq: e.seq, sender_id: e.sender_id,
          content: e.content, content_type: e.content_type, client_msg_id: e.client_msg_id, timestamp: e.timestamp,
          edited_at: null, deleted: false, erased: false, reply_to_seq: e.reply_to_seq ?? null, reply_count: 0, mentions: e.mentions ?? [], reactions: [], cursor,
        };
        return withMembers(e.conversation_id, (all) => {
          delivery.deliver(all, { kind: 'message', json: JSON.stringify(frame), position: event.position });
          options.metrics?.deliverySeconds(Math.max(0, Date.now() - e.timestamp) / 1000);
        });
      }
      case 'MessageEdited':
      case 'MessageDeleted': {
        const e = event.data;
        const frame: MessageUpdatedFrame = event.type === 'MessageEdited'
          ? { type: 'message_updated', conversation_id: e.conversation_id, seq: e.seq, content: event.data.content, edited_at: event.data.timestamp, deleted: false, cursor }
          : { type: 'message_updated', conversation_id: e.conversation_id, seq: e.seq, content: '', edited_at: null, deleted: true, cursor };
        return withMembers(e.conversation_id, (all) => delivery.deliver(all, { kind: 'message', json: JSON.stringify(frame), position: event.position }));
      }
      case 'ReactionAdded':
      case 'ReactionRemoved': {
        const e = event.data;
        const frame: ReactionFrame = {
          type: 'reaction', conversation_id: e.conversation_id, seq: e.seq, emoji: e.emoji, user_id: e.user_id,
          op: event.type === 'ReactionAdded' ? 'add' : 'remove', cursor,
        };
        return withMembers(e.conversation_id, (all) => delivery.deliver(all, { kind: 'message', json: JSON.stringify(frame), position: event.position }));
      }
      case 'UserErased':
        // Wherever the user is connected, on any gateway: the sockets close (the tokens are refused from now on).
        delivery.deliver([event.data.user_id], { kind: 'close', json: 'account erased', position: event.position });
        return undefined;
      case 'MessageDelivered':
      case 'MessageRead': {
        const e = event.data;
        const frame: MessageStatusFrame = {
          type: 'message_status', conversation_id: e.conversation_id, user_id: e.user_id,
          status: event.type === 'MessageRead' ? 'read' : 'delivered', up_to_seq: e.up_to_seq, timestamp: e.timestamp,
        };
        return withMembers(e.conversation_id, (all) => {
          delivery.deliver(all.length <= statusMax ? all : [e.user_id], { kind: 'status', json: JSON.stringify(frame), position: event.position });
        });
      }
      case 'ConversationCreated':
      case 'MembersAdded':
      case 'MemberRemoved':
      case 'AdminGranted':
      case 'AdminRevoked':
      case 'ConversationRenamed':
        return membership(event, cursor);
      default:
        return undefined;
    }
  };

  const membership = async (event: Extract<Recorded, { type: 'ConversationCreated' | 'MembersAdded' | 'MemberRemoved' | 'AdminGranted' | 'AdminRevoked' | 'ConversationRenamed' }>, cursor: string) => {
    const id = event.data.conversation_id;
    members.delete(id);
    const info = await directory.get(id);
    if (!info) return;
    members.set(id, info.members);
    const frame: ConversationUpdatedFrame = {
      type: 'conversation_updated', conversation_id: id, kind: info.kind, title: info.title, members: info.members, admins: info.admins, cursor,
    };
    delivery.deliver(info.members, { kind: 'conversation', json: JSON.stringify(frame), position: event.position });
    if (event.type === 'MemberRemoved') {
      const removed = JSON.stringify({ ...frame, members: [], admins: [], removed: true });
      delivery.deliver([event.data.user_id], { kind: 'conversation', json: removed, position: event.position });
    }
  };

  return {
    name: 'fanout',
    react: async (events) => {
      for (const event of events) {
        const pending = react(event);
        if (pending) await pending;
      }
    },
  };
};
