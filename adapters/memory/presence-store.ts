import type { PresenceState, PresenceStore } from '../../ports/presence.ts';

type User = { sessions: Map<string, { expiresAt: number; seenAt: number }>; lastSeen?: number };

/**
 * Embedded presence: the gateway is the only one holding sockets, so memory is the truth; after a
 * restart everyone is offline until they reconnect, and last_seen of users who never came back is
 * unknown.
 */
export const createMemoryPresenceStore = (): PresenceStore => {
  const users = new Map<string, User>();
  const user = (id: string) => {
    let u = users.get(id);
    if (!u) users.set(id, (u = { sessions: new Map() }));
    return u;
  };

  const announced = new Map<string, { status: PresenceState['status']; at: number }>();

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
      const u = user(userId);
      const wasOnline = u.sessions.size > 0;
      u.sessions.set(sessionId, { expiresAt: now + ttlMs, seenAt: now });
      return !wasOnline;
    },
    async refresh(sessions, ttlMs, now) {
      for (const { userId, sessionId } of sessions) {
        const u = users.get(userId);
        if (u?.sessions.has(sessionId)) u.sessions.set(sessionId, { expiresAt: now + ttlMs, seenAt: now });
      }
    },
    async disconnect(userId, sessionId, now) {
      const u = users.get(userId);
      if (!u?.sessions.delete(sessionId)) return false;
      if (u.sessions.size > 0) return false;
      u.lastSeen = now;
      return true;
    },
    async expire(now) {
      const gone: string[] = [];
      for (const [id, u] of users) {
        if (u.sessions.size === 0) continue;
        let last = 0;
        for (const [session, { expiresAt, seenAt }] of u.sessions) {
          if (expiresAt <= now) {
            u.sessions.delete(session);
            last = Math.max(last, seenAt);
          }
        }
        if (u.sessions.size === 0) {
          u.lastSeen = last;
          gone.push(id);
        }
      }
      return gone;
    },
    async get(userId): Promise<PresenceState> {
      const u = users.get(userId);
      if (u && u.sessions.size > 0) return { user_id: userId, status: 'online' };
      return { user_id: userId, status: 'offline', ...(u?.lastSeen ? { last_seen: u.lastSeen } : {}) };
    },
  };
};
