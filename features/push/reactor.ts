import type { PushRequest } from '../../contracts/push.ts';
import type { LiveDevices, PushQueue, PushRegistry } from '../../ports/push.ts';
import type { DirectoryStore, InboxStore } from '../../ports/read-models.ts';
import type { Reactor } from '../../ports/projector.ts';

/**
 * Of the members a message went to, those to push: no live device, and a registered target. Given
 * the message's time, a member who was online then is not pushed either: in the cluster the fast
 * path reached their device long before this reactor, which follows the read models, asks.
 */
export const pushRecipients = async (members: readonly string[], live: LiveDevices, registry: PushRegistry, sentAt?: number) => {
  if (members.length === 0) return [];
  const online = await live.liveUsers(members, sentAt);
  const offline = members.filter((userId) => !online.has(userId));
  if (offline.length === 0) return [];
  // Only members with a registered device cost a window and a timer (most of a big group has none).
  const reachable = new Set((await registry.targetsOf(offline)).map((t) => t.user_id));
  return offline.filter((userId) => reachable.has(userId));
};

export type PushReactorOptions = {
  directory: DirectoryStore;
  /** Who muted the conversation: they get a push only for a message that mentions them. */
  inbox: Pick<InboxStore, 'mutedAmong'>;
  live: LiveDevices;
  registry: PushRegistry;
  queue: PushQueue;
  includeContent: boolean;
  /** Messages older than this are not pushed (a catch-up after downtime replays them). */
  maxAgeMs: number;
  clock?: () => number;
};

/**
 * For every new message, the members other than the sender with no live device and a registered
 * target go to the push queue (edits, deletes and reactions never push), except those who muted the
 * conversation, unless the message mentions them. Runs after the read models, so the counts a notification carries
 * include the message. The lookups of a batch go out together, one directory read per conversation;
 * members are read fresh for every batch, since in the cluster a membership change may have been
 * applied by another worker.
 */
export const pushReactor = (options: PushReactorOptions): Reactor => {
  const clock = options.clock ?? Date.now;
  return {
    name: 'push',
    react: async (events) => {
      const sent = events.flatMap((event) => (event.type === 'MessageSent' && clock() - event.data.timestamp <= options.maxAgeMs ? [event.data] : []));
      const conversations = [...new Set(sent.map((e) => e.conversation_id))];
      const members = new Map(await Promise.all(conversations.map(async (id) => [id, await options.directory.members(id)] as const)));
      const recipients = await Promise.all(
        sent.map(async (e) => {
          const reachable = await pushRecipients(
            members.get(e.conversation_id)!.filter((m) => m !== e.sender_id),
            options.live,
            options.registry,
            e.timestamp,
          );
          const muted = await options.inbox.mutedAmong(e.conversation_id, reachable, clock());
          return reachable.filter((user) => !muted.has(user) || e.mentions?.includes(user));
        }),
      );
      const requests = sent.flatMap((e, i) =>
        recipients[i]!.map(
          (user): PushRequest => ({
            user_id: user,
            conversation_id: e.conversation_id,
            message_id: e.message_id,
            seq: e.seq,
            sender_id: e.sender_id,
            content_type: e.content_type,
            timestamp: e.timestamp,
            ...(options.includeContent && e.content_type !== 'ciphertext' ? { content: e.content } : {}),
            ...(e.mentions?.includes(user) ? { mentioned: true } : {}),
          }),
        ),
      );
      if (requests.length > 0) await options.queue.offer(requests);
      for (const event of events) {
        if (event.type === 'MessageRead') options.queue.read?.(event.data.user_id, event.data.conversation_id, event.data.up_to_seq);
        else if (event.type === 'ConversationCreated' || event.type === 'MembersAdded' || event.type === 'MemberRemoved')
          options.queue.forget?.(event.data.conversation_id);
      }
    },
  };
};
