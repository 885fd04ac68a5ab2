import { createHash } from 'node:crypto';

/**
 * Which process writes a conversation: rendezvous (highest-random-weight) hashing over the live
 * processes. Every process that sees the same set picks the same owner, and when one leaves only
 * the conversations it owned move, spread evenly over the others.
 */
export const ownerOf = (conversationId: string, processes: readonly string[]): string | undefined => {
  let owner: string | undefined;
  let best = -1n;
  for (const process of processes) {
    const weight = createHash('sha1').update(process).update('\u0000').update(conversationId).digest().readBigUInt64BE(0);
    if (weight > best || (weight === best && owner !== undefined && process < owner)) {
      best = weight;
      owner = process;
    }
  }
  return owner;
};
