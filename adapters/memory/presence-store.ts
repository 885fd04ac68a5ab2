import type { PresenceState, PresenceStore } from '../../ports/presence.ts';

type Session = { readonly id: string; expiresAt: number; seenAt: number };

/**
 * Embedded presence: the gateway is the only one holding sockets, so memory is the truth; after a
 * restart everyone is offline until they reconnect, and last_seen of users who never came back is
 * unknown. A user's sessions are an array, not a Map: a user has a few at most (one per socket), and
 * an idle socket should cost few bytes (a one-entry Map is about 300).
 */
export const createMemoryPresenceStore = (): PresenceStore => {
  /** Online users' live sessions; a user with none is not in it. */
  const online = new Map<string, Session[]>();
  const lastSeen = new Map<string, number>();
  const announced = new Map<string, { status: PresenceState['status']; at: number }>();

  const goneOffline = (userId: string, at: number) => {
    online.delete(userId);
    lastSeen.set(userId, at);
  };

  return {
    async claimAnnouncement(userId, status, now, throttleMs) {
      const last = announced.get(userId);
      if (last && now - last.at < throttleMs) return last.at + throttleMs - now;
      if (last?.status === status) return -1;
      announced.set(userId, { status, at: now });
      // An offline user's record is only needed for the window; forgetting it later announces the next change.
      if (status === 'offline')
        setTimeout(() => {
          if (announced.get(userId)?.at === now) announced.delete(userId);
        }, throttleMs).unref();
      return 0;
    },
    async connect(userId, sessionId, ttlMs, now) {
      const sessions = online.get(userId);
      const session = sessions?.find((s) => s.id === sessionId);
      if (session) {
        session.expiresAt = now + ttlMs;
        session.seenAt = now;
        return false;
      }
      const fresh = { id: sessionId, expiresAt: now + ttlMs, seenAt: now };
      if (sessions) sessions.push(fresh);
      else online.set(userId, [fresh]);
      return !sessions;
    },
    async refresh(sessions, ttlMs, now) {
      for (const { userId, sessionId } of sessions) {
        const session = online.get(userId)?.find((s) => s.id === sessionId);
        if (!session) continue;
        session.expiresAt = now + ttlMs;
        session.seenAt = now;
      }
    },
    async disconnect(userId, sessionId, now) {
      const sessions = online.get(userId);
      const at = sessions?.findIndex((s) => s.id === sessionId) ?? -1;
      if (at < 0) return false;
      if (sessions!.length > 1) {
        sessions!.splice(at, 1);
        return false;
      }
      goneOffline(userId, now);
      return true;
    },
    async expire(now) {
      const gone: string[] = [];
      for (const [userId, sessions] of online) {
        const live = sessions.filter((s) => s.expiresAt > now);
        if (live.length === sessions.length) continue;
        if (live.length > 0) {
          online.set(userId, live);
          continue;
        }
        goneOffline(userId, Math.max(...sessions.map((s) => s.seenAt)));
        gone.push(userId);
      }
      return gone;
    },
    async get(userId): Promise<PresenceState> {
      if (online.has(userId)) return { user_id: userId, status: 'online' };
      const seen = lastSeen.get(userId);
      return { user_id: userId, status: 'offline', ...(seen ? { last_seen: seen } : {}) };
    },
  };
};
