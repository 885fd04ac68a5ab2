export type PresenceState = { user_id: string; status: 'online' | 'offline'; last_seen?: number };

/**
 * Who is online. A user is online while any of their sessions (one per socket) is alive; a session
 * lives until its TTL lapses unless a heartbeat refreshes it, so a dead gateway's sessions expire by
 * themselves. `last_seen` is written when a user goes offline, not on every heartbeat.
 */
export interface PresenceStore {
  /** Starts or refreshes a session; true when the user just came online. */
  connect(userId: string, sessionId: string, ttlMs: number, now: number): Promise<boolean>;
  /** Refreshes many sessions at once (one call per heartbeat tick, not per socket). */
  refresh(sessions: ReadonlyArray<{ userId: string; sessionId: string }>, ttlMs: number, now: number): Promise<void>;
  /** Ends a session; true when the user just went offline (last_seen = now). */
  disconnect(userId: string, sessionId: string, now: number): Promise<boolean>;
  /** Drops lapsed sessions; returns the users who went offline. */
  expire(now: number): Promise<string[]>;
  get(userId: string, now: number): Promise<PresenceState>;
  /**
   * Coalescing, decided where every gateway sees it: may `status` be announced for `userId` now?
   * 0: yes, and it is recorded as the last announcement; > 0: not before that many ms (the last
   * announcement was less than `throttleMs` ago); -1: no, it is what contacts last saw.
   */
  claimAnnouncement(userId: string, status: PresenceState['status'], now: number, throttleMs: number): Promise<number>;
  /** Live sessions of a user on every gateway, where the store is shared by several gateways. */
  sessionsOf?(userId: string, now: number): Promise<number>;
}
