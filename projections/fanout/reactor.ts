import type { DirectoryStore } from '../../ports/read-models.ts';
import type { Delivery } from '../../ports/delivery.ts';
import type { Reactor, Recorded } from '../../ports/projector.ts';
import type { Metrics } from '../../ports/metrics.ts';
import { traceOf } from '../../ports/tracing.ts';
import { audienceOf, isMembershipEvent, isMessageEvent, membershipFrames, messageFrames, type LiveFrame } from './frames.ts';

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
 * members (the sender's other devices included), serializing each frame once (frames.ts). Runs
 * after the directory projector has applied the same batch, so membership is never behind the
 * event. A device that misses a push (offline, cut off) gets it back with `sync`.
 *
 * Members are cached per conversation. Only the process that applies a conversation's events sees
 * its membership change, so the cache is dropped whole whenever this process's partitions are
 * assigned anew: a conversation that moved away and back may have lost a member meanwhile.
 */
export const fanoutReactor = (directory: DirectoryStore, delivery: Delivery, options: FanoutOptions = {}): Reactor => {
  const statusMax = options.statusFanoutMaxMembers ?? 256;
  const cacheSize = options.cacheSize ?? 10_000;
  const members = new Map<string, readonly string[]>();
  /** Bumped at each reassignment: a load that started before it must not fill the new cache. */
  let generation = 0;

  const remember = (conversationId: string, loaded: readonly string[], at: number) => {
    if (at !== generation) return;
    members.set(conversationId, loaded);
    if (members.size > cacheSize) members.delete(members.keys().next().value!);
  };
  /** Calls `then` with the members at once when they are cached, so that a busy batch allocates no promise per event. */
  const withMembers = (conversationId: string, then: (all: readonly string[]) => void): Promise<void> | undefined => {
    const cached = members.get(conversationId);
    if (cached) {
      then(cached);
      return undefined;
    }
    const at = generation;
    return directory.members(conversationId).then((loaded) => {
      remember(conversationId, loaded, at);
      then(loaded);
    });
  };
  /** A traced event's frames carry its context, so their delivery joins the message's trace; untraced ones go as they are. */
  const send = (frames: LiveFrame[], event: Recorded) => {
    const trace = event.metadata === undefined ? undefined : traceOf(event.metadata);
    for (const { users, frame } of frames) delivery.deliver(users, trace ? { ...frame, trace } : frame);
  };

  const react = (event: Recorded): Promise<void> | undefined => {
    if (event.type === 'UserErased') {
      // Wherever the user is connected, on any gateway: the sockets close (the tokens are refused from now on).
      delivery.deliver([event.data.user_id], { kind: 'close', json: 'account erased', position: event.position });
      return undefined;
    }
    if (audienceOf(event) === null) return undefined;
    const cursor = String(options.cursorFor ? Math.min(event.position, options.cursorFor(event.position)) : event.position);
    if (isMessageEvent(event)) {
      return withMembers(event.data.conversation_id, (all) => {
        send(messageFrames(event, all, cursor, statusMax), event);
        if (event.type === 'MessageSent') options.metrics?.deliverySeconds(Math.max(0, Date.now() - event.data.timestamp) / 1000);
      });
    }
    if (isMembershipEvent(event)) return membership(event, cursor);
    return undefined;
  };

  const membership = async (event: Parameters<typeof membershipFrames>[0] & Recorded, cursor: string) => {
    const id = event.data.conversation_id;
    members.delete(id);
    const at = generation;
    const info = await directory.get(id);
    if (!info) return;
    remember(id, info.members, at);
    send(membershipFrames(event, info, cursor), event);
  };

  return {
    name: 'fanout',
    react: async (events) => {
      for (const event of events) {
        const pending = react(event);
        if (pending) await pending;
      }
    },
    reassigned: () => {
      generation++;
      members.clear();
    },
  };
};
