import type { MarkReceipt } from '../../contracts/commands.ts';
import type { ReceiptEvent } from '../../contracts/events.ts';

/** One member's watermarks in one conversation. */
export type Watermarks = { delivered_seq: number; read_seq: number };

export const initialWatermarks = (): Watermarks => ({ delivered_seq: 0, read_seq: 0 });

/**
 * Receipts are watermarks merged with max(), so they commute: they need no stream revision and can
 * never conflict with, block or reorder message appends. A mark past the last message is clamped
 * (clients race the log); a mark that does not move a watermark forward is a no-op.
 */
export const decideReceipt = (command: MarkReceipt & { last_seq: number }, state: Watermarks): ReceiptEvent[] => {
  const upTo = Math.min(command.up_to_seq, command.last_seq);
  const data = { conversation_id: command.conversation_id, user_id: command.user_id, up_to_seq: upTo, timestamp: command.timestamp };
  if (command.type === 'MarkRead') return upTo > state.read_seq ? [{ type: 'MessageRead', data }] : [];
  return upTo > Math.max(state.delivered_seq, state.read_seq) ? [{ type: 'MessageDelivered', data }] : [];
};

/** Reading implies delivery. */
export const evolveReceipt = (state: Watermarks, event: ReceiptEvent): Watermarks => {
  const upTo = event.data.up_to_seq;
  return event.type === 'MessageRead'
    ? { read_seq: Math.max(state.read_seq, upTo), delivered_seq: Math.max(state.delivered_seq, upTo) }
    : { read_seq: state.read_seq, delivered_seq: Math.max(state.delivered_seq, upTo) };
};
