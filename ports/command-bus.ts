/**
 * How a command reaches the process that owns its conversation (in the cluster: Redis request/reply
 * between gateways, adapters/redis/command-bus.ts). Method names and arguments are the command
 * side's (command-side/routed-commands.ts); the bus carries them as JSON.
 */
export type CommandBus = {
  /** The process that writes this conversation now, or undefined when it is this one. */
  ownerOf(conversationId: string): string | undefined;
  /** Resolves with the owner's answer, rejects with its NatterError (`unavailable` when it is too slow), or with OwnerUnreachable. */
  call(owner: string, method: string, args: unknown[]): Promise<unknown>;
};

/** A call could not reach the owner (gone, or the bus is down): the caller may run it itself. */
export class OwnerUnreachable extends Error {}
