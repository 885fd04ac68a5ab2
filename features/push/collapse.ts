import type { DirectoryStore, InboxStore, ConversationInfo } from '../../ports/read-models.ts';
import type { LiveDevices, PushClaim, PushNotification, PushRegistry, PushTarget, PushWindows } from '../../ports/push.ts';
import { describe, type PushableMessage } from './notification.ts';

type Log = { warn(obj: object, msg: string): void };

export type PushCollapserOptions = {
  directory: DirectoryStore;
  inbox: InboxStore;
  live: LiveDevices;
  registry: PushRegistry;
  /** Where the windows are kept: this process's memory, or Redis when push workers share the load. */
  windows: PushWindows;
  send(target: PushTarget, notification: PushNotification): void;
  /** At most one push per user per conversation per window; what arrives inside it is collapsed into one. */
  collapseMs: number;
  includeContent: boolean;
  /** How long a redelivered message can come late (older ones are not pushed at all): what was pushed is remembered that long. */
  maxAgeMs: number;
  log: Log;
};

const RETRY_MS = 1_000;
/** How often parked windows are looked for, and how long past its end a window is left to the process that parked it. */
const SCAN_MS = 1_000;
const GRACE_MS = 2_000;

/**
 * This process's share of a window: the messages not claimed yet, the timer that ends the window,
 * and when the window it opened or waits for ends (0: none known yet).
 */
type Local = { pending: PushableMessage[]; timer: NodeJS.Timeout | null; until: number };

/**
 * Collapses a user's messages per conversation into at most one push per window. The first message
 * pushes at once and opens a window of `collapseMs`; what arrives inside it makes one notification
 * when it ends ("alice sent you 5 messages"), which opens the next window. The window itself is
 * claimed from `windows`, so that several processes pushing for the same user (push workers during a
 * rebalance, a request redelivered after a crash) still push once per window and never the same
 * messages twice. Nobody is pushed who came online or read the conversation meanwhile; the counts
 * come from the inbox read model.
 *
 * What waits for a window's end is parked in `windows` too (Redis in the cluster), not only in this
 * process: every process looks for windows that ended more than GRACE_MS ago with messages still
 * parked, and pushes them, so a push worker killed with -9 inside a window loses nothing.
 */
export const createPushCollapser = (options: PushCollapserOptions) => {
  const locals = new Map<string, Local>();
  let stopped = false;
  const info = new Map<string, ConversationInfo | null>();
  const keyOf = (userId: string, conversationId: string) => `${userId}\u0000${conversationId}`;
  const background = (work: Promise<void>) => {
    work.catch((error) => options.log.warn({ err: error }, 'push notification failed'));
  };

  const inboxOf = async (userId: string, conversationId: string) => {
    let badge = 0;
    let unread = 0;
    let readSeq = 0;
    let cursor: string | undefined;
    // A badge over many pages is rare; 10 pages of 200 conversations is plenty.
    for (let page = 0; page < 10; page++) {
      const result = await options.inbox.list(userId, { limit: 200, ...(cursor ? { cursor } : {}) });
      for (const entry of result.items) {
        badge += entry.unread_count;
        if (entry.conversation_id !== conversationId) continue;
        unread = entry.unread_count;
        // unread = last seq − read seq: what the user read on another device needs no push.
        readSeq = (entry.last_message?.seq ?? 0) - entry.unread_count;
      }
      if (!result.next_cursor) break;
      cursor = result.next_cursor;
    }
    return { badge, unread, readSeq };
  };

  const conversationInfo = async (conversationId: string) => {
    if (!info.has(conversationId)) {
      info.set(conversationId, await options.directory.get(conversationId));
      if (info.size > 10_000) info.delete(info.keys().next().value!);
    }
    return info.get(conversationId)!;
  };

  const notify = async (userId: string, conversationId: string, messages: PushableMessage[]) => {
    const targets = await options.registry.targetsOf([userId]);
    if (targets.length === 0) return;
    const { badge, unread, readSeq } = await inboxOf(userId, conversationId);
    const unseen = messages.filter((m) => m.seq > readSeq);
    if (unread === 0 || unseen.length === 0) return;
    const words = describe(await conversationInfo(conversationId), unseen, unread, options.includeContent);
    const notification: PushNotification = {
      conversation_id: conversationId,
      title: words.title,
      body: words.body,
      badge,
      unread,
      seq: unseen[unseen.length - 1]!.seq,
      collapse_key: conversationId,
    };
    for (const target of targets) options.send(target, notification);
  };

  const arm = (local: Local, userId: string, conversationId: string, ms: number) => {
    if (stopped) return;
    local.timer = setTimeout(() => {
      local.timer = null;
      background(flush(userId, conversationId, false));
    }, ms);
    local.timer.unref();
  };

  /** Pushes what waits now if the window allows it, else waits for the window's end. One flush per key runs at a time. */
  const flush = async (userId: string, conversationId: string, first: boolean): Promise<void> => {
    const key = keyOf(userId, conversationId);
    const local = locals.get(key);
    if (!local) return;
    const batch = local.pending.splice(0);
    let claim: PushClaim;
    try {
      // At a window's end: what was parked for it, here or by a process that died meanwhile.
      if (!first) for (const parked of await options.windows.take(userId, conversationId)) if (!batch.some((m) => m.seq === parked.seq)) batch.push(parked);
    } catch (error) {
      local.pending.unshift(...batch);
      arm(local, userId, conversationId, RETRY_MS);
      throw error;
    }
    if (batch.length === 0) {
      locals.delete(key);
      return;
    }
    batch.sort((a, b) => a.seq - b.seq);
    try {
      // The first push was just decided on a fresh answer; a trailing one asks again.
      if (!first && (await options.live.liveUsers([userId])).has(userId)) {
        locals.delete(key);
        return;
      }
      claim = await options.windows.claim({
        userId,
        conversationId,
        seq: Math.max(...batch.map((m) => m.seq)),
        windowMs: options.collapseMs,
        rememberMs: options.maxAgeMs + 2 * options.collapseMs,
      });
    } catch (error) {
      // The windows' store is out of reach (a Redis restart): keep the messages and ask again, or
      // this user's pushes for the conversation would wait for nothing, forever.
      local.pending.unshift(...batch);
      arm(local, userId, conversationId, RETRY_MS);
      throw error;
    }
    if (claim.kind === 'wait') {
      local.until = Date.now() + claim.ms;
      await park(local, userId, conversationId, [...batch, ...local.pending.splice(0)]);
      arm(local, userId, conversationId, claim.ms);
      return;
    }
    if (claim.kind === 'covered') {
      // Pushed already (a redelivered request); anything that arrived meanwhile gets its own turn.
      return flush(userId, conversationId, first);
    }
    local.until = Date.now() + options.collapseMs;
    arm(local, userId, conversationId, options.collapseMs);
    // What arrived while the window was being claimed waits for its end: parked, like what comes later.
    if (local.pending.length > 0) await park(local, userId, conversationId, local.pending.splice(0));
    await notify(
      userId,
      conversationId,
      batch.filter((m) => m.seq > claim.coveredSeq),
    );
  };

  /** Parks messages until the window's end; if the windows' store cannot take them, this process keeps them. */
  const park = async (local: Local, userId: string, conversationId: string, messages: PushableMessage[]) => {
    try {
      await options.windows.park({ userId, conversationId, messages, dueAt: local.until });
    } catch (error) {
      for (const message of messages) if (!local.pending.some((m) => m.seq === message.seq)) local.pending.push(message);
      options.log.warn({ err: error }, 'push: a waiting message could not be parked; it waits in this process only');
    }
  };

  /** Windows that ended a while ago with messages still parked: their process died (or stopped) before pushing them. */
  const scan = async () => {
    for (const { userId, conversationId } of await options.windows.due(Date.now() - GRACE_MS, 100)) {
      const key = keyOf(userId, conversationId);
      if (stopped || locals.has(key)) continue;
      locals.set(key, { pending: [], timer: null, until: 0 });
      background(flush(userId, conversationId, false));
    }
  };
  const scanner = setInterval(() => background(scan()), SCAN_MS);
  scanner.unref();

  return {
    /**
     * A message for a user with no live device and a registered target. Resolves once it is pushed
     * or parked for the end of a window, where another process finds it should this one die.
     */
    offer: async (userId: string, message: PushableMessage): Promise<void> => {
      if (stopped) return;
      const key = keyOf(userId, message.conversation_id);
      const local = locals.get(key);
      if (local) {
        if (local.until > Date.now()) await park(local, userId, message.conversation_id, [message]);
        else if (!local.pending.some((m) => m.seq === message.seq)) local.pending.push(message);
        return;
      }
      locals.set(key, { pending: [message], timer: null, until: 0 });
      background(flush(userId, message.conversation_id, true));
    },
    /** The user read up to `upToSeq` on some device: those messages need no trailing push. */
    read: (userId: string, conversationId: string, upToSeq: number) => {
      const local = locals.get(keyOf(userId, conversationId));
      if (local) local.pending = local.pending.filter((m) => m.seq > upToSeq);
    },
    /** The conversation's title or kind may have changed. */
    forget: (conversationId: string) => {
      info.delete(conversationId);
    },
    /** Stops the timers and hands back what was not claimed yet, per user (what waits for a window's end is parked). */
    stop: (): Array<{ userId: string; message: PushableMessage }> => {
      stopped = true;
      clearInterval(scanner);
      const waiting: Array<{ userId: string; message: PushableMessage }> = [];
      for (const [key, local] of locals) {
        if (local.timer) clearTimeout(local.timer);
        const userId = key.slice(0, key.indexOf('\u0000'));
        for (const message of local.pending) waiting.push({ userId, message });
      }
      locals.clear();
      return waiting;
    },
  };
};
export type PushCollapser = ReturnType<typeof createPushCollapser>;
