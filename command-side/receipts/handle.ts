import { receiptsStream, type ReceiptEvent } from '../../contracts/events.ts';
import type { MarkReceipt } from '../../contracts/commands.ts';
import type { EventStore } from '../../ports/event-store.ts';
import { assertMember, type Conversation } from '../conversations/decider.ts';
import type { ConversationHandler } from '../conversations/handle.ts';
import { decideReceipt, evolveReceipt, initialWatermarks, type Watermarks } from './decider.ts';

/**
 * Marks go to the conversation's receipts stream with no expected revision: watermarks commute, so
 * a hot group's receipts never wait for, conflict with or reorder its messages. The watermark cache
 * only saves redundant events; after a restart the first mark of a member may repeat one, which
 * the max()-merging projection absorbs.
 */
export const createReceiptHandler = (eventStore: EventStore, conversations: ConversationHandler, options: { cacheSize?: number } = {}) => {
  const cacheSize = options.cacheSize ?? 100_000;
  const watermarks = new Map<string, Watermarks>();

  /** The events appended (none for a mark that moves nothing), at `position`, and the conversation they were checked against. */
  return async (command: MarkReceipt): Promise<{ events: ReceiptEvent[]; position: number; conversation: Conversation }> => {
    const conversation = await conversations.state(command.conversation_id);
    assertMember(conversation, command.user_id, command.conversation_id);
    const key = `${command.conversation_id}\u0000${command.user_id}`;
    const current = watermarks.get(key) ?? initialWatermarks();
    const events = decideReceipt({ ...command, last_seq: conversation.last_seq }, current);
    if (events.length === 0) return { events, position: 0, conversation };
    watermarks.delete(key);
    watermarks.set(key, events.reduce(evolveReceipt, current));
    if (watermarks.size > cacheSize) watermarks.delete(watermarks.keys().next().value!);
    const { position } = await eventStore.appendToStream(receiptsStream(command.conversation_id), events, { expectedRevision: 'any' });
    return { events, position, conversation };
  };
};
export type ReceiptHandler = ReturnType<typeof createReceiptHandler>;
