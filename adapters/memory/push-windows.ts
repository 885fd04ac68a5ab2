import type { PushClaim, PushWindows } from '../../ports/push.ts';

type Entry = { openUntil: number; covered: number; keepUntil: number };

/** The collapse windows of one process (the embedded profile); the same rules as the Redis windows. */
export const createMemoryPushWindows = (clock: () => number = Date.now): PushWindows => {
  // Re-inserted on every push, so the map is ordered by last push: expired entries are at its front.
  const entries = new Map<string, Entry>();
  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.keepUntil > now) break;
      entries.delete(key);
    }
  };
  return {
    async claim({ userId, conversationId, seq, windowMs, rememberMs }): Promise<PushClaim> {
      const now = clock();
      sweep(now);
      const key = `${conversationId}\u0000${userId}`;
      const entry = entries.get(key);
      const covered = entry && entry.keepUntil > now ? entry.covered : 0;
      if (seq <= covered) return { kind: 'covered' };
      if (entry && entry.openUntil > now) return { kind: 'wait', ms: entry.openUntil - now };
      entries.delete(key);
      entries.set(key, { openUntil: now + windowMs, covered: seq, keepUntil: now + Math.max(1, rememberMs, windowMs) });
      return { kind: 'push', coveredSeq: covered };
    },
  };
};
