import type { ConversationKind, NatterEvent } from '../contracts/events.ts';

/** A conversation as its writer knows it right after an append. */
export type ConversationView = {
  conversation_id: string;
  kind: ConversationKind;
  title: string | null;
  members: ReadonlySet<string>;
  admins: ReadonlySet<string>;
};

/**
 * What the command side announces once an append is durable: the events it wrote, the position the
 * event store gave the append (its last event's), and the conversation as of it. The cluster turns
 * them into live frames at once, published to the gateways of the members (the fast path, seed 004's
 * hybrid), ahead of the projector workers' fan-out. The embedded profile needs none: its
 * projections run in process. `appended` must not throw or wait: the ack does not depend on it.
 */
export interface LiveFeed {
  appended(events: readonly NatterEvent[], position: number, conversation: ConversationView): void;
}
