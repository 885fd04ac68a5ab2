import type { PushClaim, PushWindows, WaitingPush } from '../../ports/push.ts';

type Entry = { openUntil: number; covered: number; keepUntil: number };

/** The collapse windows of one process (the embedded profile); the same rules as the Redis windows. */
export const createMemoryPushWindows = (clock: () => number = Date.now): PushWindows => {
  // Re-inserted on every push, so the map is ordered by last push: expired entries are at its front.
  const entries = new Map<string, Entry>();
  const parked = new Map<string, { userId: string; conversationId: string; dueAt: number; messages: Map<number, WaitingPush> }>();
  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.keepUntil > now) break;
      entries.delete(key);
    }
  };
  const keyOf = (userId: string, conversationId: string) => `${conversationId}\u0000${userId}`;
  return {
    async claim({ userId, conversationId, seq, windowMs, rememberMs }): Promise<PushClaim> {
      const now = clock();
      sweep(now);
      const key = keyOf(userId, conversationId);
      const entry = entries.get(key);
      const covered = entry && entry.keepUntil > now ? entry.covered : 0;
      if (seq <= covered) return { kind: 'covered' };
      if (entry && entry.openUntil > now) return { kind: 'wait', ms: entry.openUntil - now };
      entries.delete(key);
      entries.set(key, { openUntil: now + windowMs, covered: seq, keepUntil: now + Math.max(1, rememberMs, windowMs) });
      return { kind: 'push', coveredSeq: covered };
    },
    async park({ userId, conversationId, messages, dueAt }) {
      const key = keyOf(userId, conversationId);
      const window = parked.get(key) ?? { userId, conversationId, dueAt, messages: new Map() };
      window.dueAt = dueAt;
      for (const message of messages) window.messages.set(message.seq, message);
      parked.set(key, window);
    },
    async take(userId, conversationId) {
      const key = keyOf(userId, conversationId);
      const window = parked.get(key);
      parked.delete(key);
      return window ? [...window.messages.values()].sort((a, b) => a.seq - b.seq) : [];
    },
    async due(dueBy, limit) {
      const found: Array<{ userId: string; conversationId: string }> = [];
      for (const { userId, conversationId, dueAt } of parked.values()) {
        if (found.length >= limit) break;
        if (dueAt <= dueBy) found.push({ userId, conversationId });
      }
      return found;
    },
  };
};
