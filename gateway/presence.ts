import type { PresenceFrame } from '../contracts/frames.ts';
import type { Delivery } from '../ports/delivery.ts';
import type { PresenceStore } from '../ports/presence.ts';
import type { DirectoryStore, UserStore } from '../ports/read-models.ts';
import type { Metrics } from '../ports/metrics.ts';

export type PresenceOptions = {
  store: PresenceStore;
  directory: DirectoryStore;
  /** Blocks (a blocked user does not see the blocker's presence) and who may see last_seen. */
  users: Pick<UserStore, 'blocks' | 'lastSeenVisibility'>;
  delivery: Delivery;
  metrics: Metrics;
  ttlMs: number;
  /** A user's changes reach their contacts at most once per window, with the state at its end. */
  throttleMs: number;
  /** Groups above this size do not carry presence (a 1,000-member group would multiply every change). */
  maxGroupMembers: number;
  clock?: () => number;
};

/**
 * Presence: online while any device holds a live socket, offline with last_seen after the last one
 * leaves or stops answering heartbeats. Only people who share a conversation see it.
 */
export const createPresence = (options: PresenceOptions) => {
  const { store, directory, delivery, metrics } = options;
  const clock = options.clock ?? Date.now;
  /** Users whose change waits for the end of their window on this gateway. */
  const waiting = new Map<string, NodeJS.Timeout>();

  /**
   * Everyone who shares a direct conversation, or a group small enough to carry presence, less those
   * the user blocks; `direct` holds those who share a direct conversation (privacy's "contacts").
   */
  const contactsOf = async (userId: string): Promise<{ all: string[]; direct: Set<string> }> => {
    const contacts = new Set<string>();
    const direct = new Set<string>();
    for (const id of await directory.conversationsOf(userId)) {
      const members = await directory.members(id);
      if (members.length <= options.maxGroupMembers) for (const m of members) contacts.add(m);
      if (id.startsWith('d_')) for (const m of members) direct.add(m);
    }
    contacts.delete(userId);
    for (const blocked of await options.users.blocks(userId)) contacts.delete(blocked);
    return { all: [...contacts], direct };
  };

  /** Who may see the last_seen of `userId`, by the privacy `userId` chose: a test of a viewer and the users `userId` shares a direct conversation with. */
  const lastSeenRule = async (userId: string) => {
    const visibility = await options.users.lastSeenVisibility(userId);
    return (viewer: string, direct: ReadonlySet<string>) => visibility === 'everyone' || (visibility === 'contacts' && direct.has(viewer));
  };

  const announce = async (userId: string) => {
    waiting.delete(userId);
    const state = await store.get(userId, clock());
    const wait = await store.claimAnnouncement(userId, state.status, clock(), options.throttleMs);
    if (wait > 0) {
      later(userId, wait);
      return;
    }
    if (wait < 0) return;
    const frame: PresenceFrame = { type: 'presence', user_id: userId, status: state.status, ...(state.last_seen ? { last_seen: state.last_seen } : {}) };
    const contacts = await contactsOf(userId);
    // Two frames at most: with last_seen for those the user's privacy lets see it, without for the rest.
    const shown = state.last_seen ? await lastSeenRule(userId) : () => true;
    const withLastSeen = contacts.all.filter((c) => shown(c, contacts.direct));
    const without = contacts.all.filter((c) => !shown(c, contacts.direct));
    if (withLastSeen.length > 0) delivery.deliver(withLastSeen, { kind: 'ephemeral', json: JSON.stringify(frame), position: 0 });
    if (without.length > 0) {
      const { last_seen: _, ...hidden } = frame;
      delivery.deliver(without, { kind: 'ephemeral', json: JSON.stringify(hidden), position: 0 });
    }
    metrics.presenceUpdate();
  };
  const run = (userId: string) =>
    void announce(userId).catch(() => {
      /* presence is best effort */
    });
  const later = (userId: string, wait: number) => {
    if (waiting.has(userId)) return;
    const timer = setTimeout(() => run(userId), wait);
    timer.unref();
    waiting.set(userId, timer);
  };

  // Coalescing: a change inside a user's window is announced once, when the window ends, and only if
  // the state then differs from what contacts last saw, so a flapping connection sends nothing. The
  // window and the last announcement live in the presence store, so in the cluster they hold across
  // gateways: a user flapping between three gateways is coalesced as on one.
  const changed = (userId: string) => {
    if (!waiting.has(userId)) run(userId);
  };

  return {
    async connected(userId: string, sessionId: string) {
      if (await store.connect(userId, sessionId, options.ttlMs, clock())) changed(userId);
    },
    async disconnected(userId: string, sessionId: string) {
      if (await store.disconnect(userId, sessionId, clock())) changed(userId);
    },
    /** One call per heartbeat tick with every live session, then expiry of the lapsed ones. */
    async heartbeat(sessions: ReadonlyArray<{ userId: string; sessionId: string }>) {
      await store.refresh(sessions, options.ttlMs, clock());
      for (const userId of await store.expire(clock())) changed(userId);
    },
    /**
     * The presence of `userId` as `viewer` may see it: null when they share no conversation or when
     * `userId` blocks `viewer`; without last_seen when `userId`'s privacy hides it from `viewer`.
     */
    async visibleTo(viewer: string, userId: string) {
      const state = await store.get(userId, clock());
      if (viewer === userId) return state;
      const mine = new Set(await directory.conversationsOf(viewer));
      const shared = (await directory.conversationsOf(userId)).filter((id) => mine.has(id));
      if (shared.length === 0 || (await options.users.blocks(userId)).includes(viewer)) return null;
      const direct = new Set(shared.some((id) => id.startsWith('d_')) ? [viewer] : []);
      if (!state.last_seen || (await lastSeenRule(userId))(viewer, direct)) return state;
      const { last_seen: _, ...hidden } = state;
      return hidden;
    },
    stop() {
      for (const timer of waiting.values()) clearTimeout(timer);
    },
  };
};
export type Presence = ReturnType<typeof createPresence>;
