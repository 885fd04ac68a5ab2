import { NatterError } from '../contracts/errors.ts';
import type { Commands } from './commands.ts';
import type { Actor } from './actor.ts';
import { OwnerUnreachable, type CommandBus } from '../ports/command-bus.ts';

/** The commands that touch one existing conversation's state, and so go to its single writer. */
type Args = [Actor, ...unknown[]];
/** Which conversation (or other single writer) a routed call belongs to, from its arguments. */
type Key = (local: Commands, args: Args) => string;
const byConversation: Key = (_local, args) => (typeof args[1] === 'string' ? args[1] : (args[1] as { conversation_id: string }).conversation_id);
// A block is decided where the pair's direct conversation is written, so that its sends see it at once.
const byPair: Key = (local, [actor, other]) => local.directIdOf(actor, other as string);

/** The commands that touch one conversation's (or one pair's, or one user's) state, and so go to its single writer. */
const ROUTES = {
  createDirect: byPair,
  addMembers: byConversation,
  removeMember: byConversation,
  sendMessage: byConversation,
  editMessage: byConversation,
  deleteMessage: byConversation,
  react: byConversation,
  membersFor: byConversation,
  markReceipt: byConversation,
  grantAdmin: byConversation,
  revokeAdmin: byConversation,
  renameConversation: byConversation,
  setRetention: byConversation,
  expireMessages: (_local, args) => args[0] as unknown as string,
  mute: byConversation,
  unmute: byConversation,
  block: byPair,
  unblock: byPair,
  setPrivacy: (_local, [actor]) => `user:${actor.user_id}`,
  eraseUser: (_local, args) => `user:${args[0] as unknown as string}`,
} satisfies Partial<Record<keyof Commands, Key>>;
export type RoutedMethod = keyof typeof ROUTES;
const isRouted = (method: string): method is RoutedMethod => Object.hasOwn(ROUTES, method);

export type RoutingEvents = { onRouted?(outcome: 'local' | 'forwarded' | 'fallback'): void };

/**
 * One writer per conversation across gateways: a command for a conversation another process owns
 * is forwarded to it, so its appends pipeline behind one in-memory state instead of racing on the
 * stream's revision, and its membership checks read the freshest state. When the owner cannot be
 * reached (it died, or the bus is down) the command runs here: the event store's expected revision
 * still keeps a single order, routing only removes the conflicts. An owner that is alive but slow is
 * not stood in for: that would only race it.
 */
export const routeCommands = (local: Commands, bus: CommandBus, events: RoutingEvents = {}): Commands => {
  const route = async (method: RoutedMethod, args: unknown[], conversationId: string): Promise<unknown> => {
    const owner = bus.ownerOf(conversationId);
    if (owner !== undefined) {
      try {
        const answer = await bus.call(owner, method, args);
        events.onRouted?.('forwarded');
        return answer;
      } catch (error) {
        if (!(error instanceof OwnerUnreachable)) throw error;
        events.onRouted?.('fallback');
        try {
          return await invoke(local, method, args);
        } finally {
          // What this process learnt while standing in is not kept: the owner may write again.
          local.forget(conversationId);
        }
      }
    }
    events.onRouted?.('local');
    return (local[method] as (...a: unknown[]) => Promise<unknown>)(...args);
  };

  const routed = Object.fromEntries(
    (Object.entries(ROUTES) as Array<[RoutedMethod, Key]>).map(([method, key]) => [method, (...args: Args) => route(method, args, key(local, args))]),
  );
  return {
    ...local,
    ...routed,
    // Local answers are the owner's own set; only an answer that crossed the wire comes as an array.
    membersFor: async (...args) => {
      const members = (await route('membersFor', args, byConversation(local, args))) as ReadonlySet<string> | string[];
      return members instanceof Set ? members : new Set(members);
    },
  } as Commands;
};

/** Runs a routed call on this process, in the shape that crosses the wire (sets become arrays). */
export const invoke = async (local: Commands, method: string, args: unknown[]): Promise<unknown> => {
  if (!isRouted(method)) throw new NatterError('invalid_request', `unknown routed command ${String(method)}`);
  const answer = await (local[method] as (...a: unknown[]) => Promise<unknown>)(...args);
  return answer instanceof Set ? [...answer] : answer;
};
