import type { LiveDevices, PushRegistry } from '../../ports/push.ts';
import type { Reactor, Recorded } from '../runtime.ts';
import { createPushCollapser, type PushCollapserOptions } from './collapse.ts';

export type PushReactorOptions = PushCollapserOptions & {
  /** Messages older than this are not pushed (a catch-up after downtime replays them). */
  maxAgeMs: number;
  clock?: () => number;
};

/** Of the members a message went to, those to push: no live device, and a registered target. */
export const pushRecipients = async (members: readonly string[], live: LiveDevices, registry: PushRegistry) => {
  if (members.length === 0) return [];
  const online = await live.liveUsers(members);
  const offline = members.filter((userId) => !online.has(userId));
  if (offline.length === 0) return [];
  // Only members with a registered device cost a window and a timer (most of a big group has none).
  const reachable = new Set((await registry.targetsOf(offline)).map((t) => t.user_id));
  return offline.filter((userId) => reachable.has(userId));
};

/**
 * Pushes new messages to members with no live device, collapsed per user and conversation
 * (collapse.ts). Runs after the read models, so the inbox counts include the message. Network work
 * happens in the dispatcher, never on the projection path.
 */
export const pushReactor = (options: PushReactorOptions): Reactor & { stop(): void } => {
  const clock = options.clock ?? Date.now;
  const collapser = createPushCollapser(options);
  // Members by conversation, dropped on every membership event: one directory read per
  // conversation instead of one per message.
  const members = new Map<string, readonly string[]>();
  const membersOf = async (conversationId: string) => {
    let cached = members.get(conversationId);
    if (!cached) {
      cached = await options.directory.members(conversationId);
      members.set(conversationId, cached);
      if (members.size > 10_000) members.delete(members.keys().next().value!);
    }
    return cached;
  };

  const react = async (event: Recorded) => {
    switch (event.type) {
      case 'MessageSent': {
        const message = event.data;
        if (clock() - message.timestamp > options.maxAgeMs) return;
        const others = (await membersOf(message.conversation_id)).filter((m) => m !== message.sender_id);
        for (const userId of await pushRecipients(others, options.live, options.registry)) collapser.offer(userId, message);
        return;
      }
      case 'MessageRead':
        collapser.read(event.data.user_id, event.data.conversation_id, event.data.up_to_seq);
        return;
      case 'MembersAdded':
      case 'MemberRemoved':
      case 'ConversationCreated':
        collapser.forget(event.data.conversation_id);
        members.delete(event.data.conversation_id);
        return;
    }
  };

  return {
    name: 'push',
    react: async (events) => {
      try {
        for (const event of events) await react(event);
      } catch (error) {
        // The rest of the batch is skipped, its membership events too: forget what they would have invalidated.
        members.clear();
        throw error;
      }
    },
    stop: () => { collapser.stop(); },
  };
};
