import type { TraceCarrier } from './tracing.ts';

/**
 * How the fan-out reaches devices. Embedded: the in-process gateway's socket registry. Cluster: a
 * publish per gateway that holds a target device. `json` is serialized once per event, whatever
 * the number of recipients.
 */
export type Outbound = {
  /** Only `message` frames (messages, their edits, deletes and reactions) are ordered against `sync`; `ephemeral` ones (typing, presence) are never stored. */
  kind: 'message' | 'status' | 'conversation' | 'ephemeral' | 'close';
  json: string;
  /** `close`: the devices' sockets are closed, `json` being the reason (an erased user's). */
  /** Global position of the event behind the frame, for ordering against `sync`; 0 for ephemeral frames. */
  position: number;
  /**
   * The conversation of a stored frame (none for ephemeral ones). In the cluster a frame can reach a
   * device twice (the fast path, then the projector's path): a connection orders and deduplicates
   * frames within their conversation (gateway/live-order.ts).
   */
  conversation?: string;
  /** `new_message`: its seq; `message_updated` and `reaction`: the seq of the message they change. */
  seq?: number;
  /** A `new_message` frame: delivered once per seq, in seq order. */
  isNew?: boolean;
  /** The trace the frame belongs to, when tracing is on (ports/tracing.ts); it crosses to the receiving gateway with the frame. */
  trace?: TraceCarrier;
};

export interface Delivery {
  deliver(userIds: readonly string[], frame: Outbound): void;
}
