import type { PushPlatform, PushRequest, WebPushSubscription } from '../contracts/push.ts';

/**
 * Which users have at least one live device. Embedded: the gateway's connection registry; cluster:
 * the presence sessions in Redis. The push reactor asks it for the members of each new message.
 */
export interface LiveDevices {
  /**
   * The subset of `userIds` with a live socket right now; given `since`, also those who had one at
   * or after `since` (online when a message was sent, so a live path reached them).
   */
  liveUsers(userIds: readonly string[], since?: number): Promise<ReadonlySet<string>>;
}

/** Where one device wants its notifications: an FCM or APNs device token, or a Web Push subscription. */
export type PushTarget =
  | { user_id: string; device_id: string; platform: 'fcm' | 'apns'; token: string; created_at: number }
  | { user_id: string; device_id: string; platform: 'webpush'; subscription: WebPushSubscription; created_at: number };

/** The push registrations (SQLite in the embedded profile). One per (user, device); a token belongs to one device. */
export interface PushRegistry {
  /** Registers or replaces the device's target; the same token held by any other device is released. */
  register(target: PushTarget): Promise<void>;
  /** True when a registration was removed. */
  unregister(userId: string, deviceId: string): Promise<boolean>;
  get(userId: string, deviceId: string): Promise<PushTarget | null>;
  targetsOf(userIds: readonly string[]): Promise<PushTarget[]>;
  /** Drops a target the provider reported as no longer valid, unless the device re-registered another one meanwhile. */
  invalidate(target: PushTarget): Promise<void>;
}

/** What the user sees. Content is only there when configured, and never for ciphertext. */
export type PushNotification = {
  conversation_id: string;
  title: string;
  body: string;
  /** Total unread messages of the user across conversations (the app icon badge). */
  badge: number;
  /** Unread messages in this conversation. */
  unread: number;
  /** Highest seq the notification covers; the app syncs from its cursor anyway. */
  seq: number;
  /** Replaces earlier notifications of the same conversation on the device. */
  collapse_key: string;
};

export type PushResult =
  | { ok: true }
  /** The token or subscription is gone (uninstalled app, expired subscription): forget it. */
  | { ok: false; reason: 'invalid_target'; detail?: string }
  /** Transient (5xx, 429, network): worth retrying, not before `retryAfterMs` when the service said so. */
  | { ok: false; reason: 'retry'; retryAfterMs?: number; detail?: string }
  /** Permanent for this request (bad payload, bad credentials): do not retry. */
  | { ok: false; reason: 'failed'; detail?: string };

/** One push service. Providers translate a notification into their protocol and never throw. */
export interface PushProvider {
  readonly platform: PushPlatform | 'log';
  send(target: PushTarget, notification: PushNotification): Promise<PushResult>;
  close?(): Promise<void>;
}

/**
 * The collapse windows of offline push: at most one push per user per conversation per window, and
 * the highest seq already pushed, so that a redelivered request pushes nothing twice. In memory for
 * one process (embedded); in Redis when several push workers share a consumer group, since a
 * rebalance or a redelivery hands a user's requests to a worker that holds no window for them.
 */
export interface PushWindows {
  /**
   * Asks to push messages up to `seq` of the conversation to the user now. `push`: a window is now
   * open for `windowMs`, and `coveredSeq` is the highest seq pushed before (the caller leaves out what
   * it covered). `wait`: a window is open for `ms` more. `covered`: everything up to `seq` was pushed.
   * What was pushed is remembered for `rememberMs`, longer than any redelivery can come late.
   */
  claim(request: { userId: string; conversationId: string; seq: number; windowMs: number; rememberMs: number }): Promise<PushClaim>;
  /**
   * Keeps messages that wait for a window's end (`dueAt`) beside the windows, where every process
   * sharing them finds them: a push worker killed with -9 leaves them to another one. Parking the
   * same seq twice keeps one.
   */
  park(request: { userId: string; conversationId: string; messages: readonly WaitingPush[]; dueAt: number }): Promise<void>;
  /** Removes and returns the messages parked for a window, in seq order: each is taken once, by whoever asks first. */
  take(userId: string, conversationId: string): Promise<WaitingPush[]>;
  /** Windows with messages parked that were due at `dueBy` or before, at most `limit` of them. */
  due(dueBy: number, limit: number): Promise<Array<{ userId: string; conversationId: string }>>;
}

/** A message waiting for its push: the request without the user it is for. */
export type WaitingPush = Omit<PushRequest, 'user_id' | 'message_id'>;

export type PushClaim = { kind: 'push'; coveredSeq: number } | { kind: 'wait'; ms: number } | { kind: 'covered' };

/**
 * Where the push reactor hands the members to push: this process's collapser (embedded), or the
 * cluster's push topic, which the push workers consume into theirs. `read` and `forget` are hints a
 * queue in the same process may use to drop what was read or re-read a changed conversation.
 */
export interface PushQueue {
  /** Resolves once the requests are queued (the cluster's topic has them), so a failed batch is retried. */
  offer(requests: readonly PushRequest[]): Promise<void>;
  read?(userId: string, conversationId: string, upToSeq: number): void;
  forget?(conversationId: string): void;
}
