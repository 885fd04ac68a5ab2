import type { Delivery } from '../../ports/delivery.ts';
import type { LiveFeed } from '../../ports/live-feed.ts';
import { isMembershipEvent, isMessageEvent, membershipFrames, messageFrames, type LiveEvent } from './frames.ts';

export type FastPathOptions = {
  /** Above this size, a member's receipts go to their own devices only, as in the fan-out reactor. */
  statusFanoutMaxMembers: number;
  /** The cluster's low watermark: a frame's cursor never passes it (see the fan-out reactor's cursorFor). */
  cursorFor(position: number): number;
};

/**
 * The cluster's fast path (seed 004's hybrid): the process that appended an event publishes its live
 * frames at once, to the members the writer knows as of the append, through the same per-gateway
 * delivery as the projector workers' fan-out. That fan-out still runs after the read models are
 * written and delivers the same frames again; a connection keeps the first copy of each and waits
 * briefly for a missing seq (gateway/live-order.ts), so whatever the fast path misses (a publish
 * lost, a gateway that restarted, the appending process killed before it published) comes by the
 * durable path.
 *
 * Frames carry a cursor no higher than the low watermark, so a device that resumes from it never
 * skips an event a slower partition has not applied. The events of one append share its position
 * (the last event's): only a removal with an admin's succession appends two, and a connection keeps
 * the newest `conversation_updated` of a conversation, which is the state after both.
 */
export const fastPathFeed = (delivery: Delivery, options: FastPathOptions): LiveFeed => ({
  appended(events, position, conversation) {
    const cursor = String(Math.min(position, options.cursorFor(position)));
    let members: string[] | undefined;
    for (const data of events) {
      const event = { ...data, position } as LiveEvent;
      if (isMessageEvent(event)) {
        members ??= [...conversation.members];
        for (const { users, frame } of messageFrames(event, members, cursor, options.statusFanoutMaxMembers)) delivery.deliver(users, frame);
      } else if (isMembershipEvent(event)) {
        const state = {
          kind: conversation.kind,
          title: conversation.title,
          members: [...conversation.members].sort(),
          admins: [...conversation.admins].sort(),
        };
        for (const { users, frame } of membershipFrames(event, state, cursor)) delivery.deliver(users, frame);
      }
    }
  },
});
