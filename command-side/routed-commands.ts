import { NatterError } from '../contracts/errors.ts';
import type { Commands } from './commands.ts';
import { OwnerUnreachable, type CommandBus } from '../ports/command-bus.ts';

/** The commands that touch one existing conversation's state, and so go to its single writer. */
export const ROUTED = ['createDirect', 'addMembers', 'removeMember', 'sendMessage', 'editMessage', 'deleteMessage', 'react', 'membersFor', 'markReceipt'] as const;
export type RoutedMethod = typeof ROUTED[number];
const isRouted = (method: string): method is RoutedMethod => (ROUTED as readonly string[]).includes(method);

export type RoutingEvents = { onRouted?(outcome: 'local' | 'forwarded' | 'fallback'): void };

const conversationOf = (method: RoutedMethod, args: unknown[]): string => {
  if (method === 'createDirect') return '';
  return method === 'sendMessage' ? (args[1] as { conversation_id: string }).conversation_id : args[1] as string;
};

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

  return {
    ...local,
    createDirect: async (actor, peerId) => route('createDirect', [actor, peerId], local.directIdOf(actor, peerId)) as ReturnType<Commands['createDirect']>,
    addMembers: async (...args) => route('addMembers', args, conversationOf('addMembers', args)) as ReturnType<Commands['addMembers']>,
    removeMember: async (...args) => route('removeMember', args, conversationOf('removeMember', args)) as ReturnType<Commands['removeMember']>,
    sendMessage: async (...args) => route('sendMessage', args, conversationOf('sendMessage', args)) as ReturnType<Commands['sendMessage']>,
    editMessage: async (...args) => route('editMessage', args, conversationOf('editMessage', args)) as ReturnType<Commands['editMessage']>,
    deleteMessage: async (...args) => route('deleteMessage', args, conversationOf('deleteMessage', args)) as ReturnType<Commands['deleteMessage']>,
    react: async (...args) => route('react', args, conversationOf('react', args)) as ReturnType<Commands['react']>,
    // Local answers are the owner's own set; only an answer that crossed the wire comes as an array.
    membersFor: async (...args) => {
      const members = await route('membersFor', args, conversationOf('membersFor', args)) as ReadonlySet<string> | string[];
      return members instanceof Set ? members : new Set(members);
    },
    markReceipt: async (...args) => route('markReceipt', args, conversationOf('markReceipt', args)) as ReturnType<Commands['markReceipt']>,
  };
};

/** Runs a routed call on this process, in the shape that crosses the wire (sets become arrays). */
export const invoke = async (local: Commands, method: string, args: unknown[]): Promise<unknown> => {
  if (!isRouted(method)) throw new NatterError('invalid_request', `unknown routed command ${String(method)}`);
  const answer = await (local[method] as (...a: unknown[]) => Promise<unknown>)(...args);
  return answer instanceof Set ? [...answer] : answer;
};
