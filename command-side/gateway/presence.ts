import type { PresenceFrame } from '../../contracts/frames.ts';
import type { Delivery } from '../../ports/delivery.ts';
import type { PresenceStore } from '../../ports/presence.ts';
import type { DirectoryStore } from '../../ports/read-models.ts';
import type { Metrics } from '../../ports/metrics.ts';

export type PresenceOptions = {
  store: PresenceStore;
  directory: DirectoryStore;
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
  const announced = new Map<string, { status: 'online' | 'offline'; at: number; timer?: NodeJS.Timeout }>();

  /** Everyone who shares a direct conversation, or a group small enough to carry presence. */
  const contactsOf = async (userId: string): Promise<string[]> => {
    const contacts = new Set<string>();
    for (const id of await directory.conversationsOf(userId)) {
      const members = await directory.members(id);
      if (members.length <= options.maxGroupMembers) for (const m of members) contacts.add(m);
    }
    contacts.delete(userId);
    return [...contacts];
  };

  const announce = async (userId: string) => {
    const entry = announced.get(userId);
    if (entry) entry.timer = undefined;
    const state = await store.get(userId, clock());
    if (entry?.status === state.status) return;
    announced.set(userId, { status: state.status, at: clock() });
    const frame: PresenceFrame = { type: 'presence', user_id: userId, status: state.status, ...(state.last_seen ? { last_seen: state.last_seen } : {}) };
    delivery.deliver(await contactsOf(userId), { kind: 'ephemeral', json: JSON.stringify(frame), position: 0 });
    metrics.presenceUpdate();
    if (state.status === 'offline') setTimeout(() => { if (announced.get(userId)?.status === 'offline') announced.delete(userId); }, options.throttleMs).unref();
  };

  // Coalescing: a change inside the window is announced once, when the window ends, and only if the
  // state then differs from what contacts last saw, so a flapping connection sends nothing.
  const changed = (userId: string) => {
    const entry = announced.get(userId);
    if (entry?.timer) return;
    const wait = entry ? Math.max(0, entry.at + options.throttleMs - clock()) : 0;
    const run = () => void announce(userId).catch(() => { /* presence is best effort */ });
    if (wait === 0) { run(); return; }
    entry!.timer = setTimeout(run, wait);
    entry!.timer.unref();
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
    /** The presence of `userId` as `viewer` may see it: null when they share no conversation. */
    async visibleTo(viewer: string, userId: string) {
      if (viewer !== userId) {
        const mine = new Set(await directory.conversationsOf(viewer));
        if (!(await directory.conversationsOf(userId)).some((id) => mine.has(id))) return null;
      }
      return store.get(userId, clock());
    },
    stop() { for (const entry of announced.values()) clearTimeout(entry.timer); },
  };
};
export type Presence = ReturnType<typeof createPresence>;
