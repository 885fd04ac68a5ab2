import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered and globally unique, so ids sort roughly by creation across processes. */
export const newMessageId = (): string => uuidv7();
export const newGroupId = (): string => `g_${uuidv7().replaceAll('-', '')}`;

/** One direct conversation per pair, with the same id whichever of the two creates it. */
export const directConversationId = (a: string, b: string): string => {
  const [x, y] = [a, b].sort();
  return `d_${createHash('sha256').update(`${x}\n${y}`).digest('hex').slice(0, 32)}`;
};
