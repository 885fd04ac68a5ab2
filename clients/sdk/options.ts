import type { BackoffOptions } from './backoff.ts';
import type { OutboxEntry } from './outbox.ts';
import type { NatterStorage } from './storage.ts';
import type {
  AckFrame,
  ContentType,
  ConversationUpdatedFrame,
  ErrorFrame,
  Message,
  MessageStatusFrame,
  MessageUpdatedFrame,
  PresenceFrame,
  ReactionFrame,
  TypingFrame,
} from './wire.ts';

// What a NatterClient takes and what it emits.

// Browsers' WebSocket and the `ws` package type their event objects differently; declaring the
// listeners as methods makes their parameters bivariant, so both constructors fit this shape.
type Listener<E> = { bivariant(event: E): void }['bivariant'];

/** The part of the WebSocket API the client uses: the browser's global and the `ws` package both have it. */
export type SocketLike = {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Listener<unknown> | null;
  onmessage: Listener<{ data: unknown }> | null;
  onclose: Listener<{ code: number }> | null;
  onerror: Listener<unknown> | null;
};
export type SocketConstructor = new (url: string) => SocketLike;

export type ConnectionState = 'idle' | 'connecting' | 'syncing' | 'online' | 'offline' | 'closed';

export type NatterEvents = {
  /**
   * A message, live or synced, once per `message_id`. A reply (`reply_to_seq` set) adds one to its
   * parent's `reply_count`: the SDK gives synced messages the count as of their place in the log.
   */
  message: Message;
  /**
   * A message was edited or deleted (live), or an older one changed while this device was away
   * (sync: then with its whole state, `reactions` and `reply_count` included). `applyUpdate` applies it.
   */
  updated: MessageUpdatedFrame;
  /** Someone added or removed a reaction; `applyReaction` applies it. */
  reaction: ReactionFrame;
  status: MessageStatusFrame;
  presence: PresenceFrame;
  typing: TypingFrame;
  /** A conversation was created, renamed, or its members or `admins` changed; without me in `members`, I was removed or left. */
  conversation: ConversationUpdatedFrame;
  state: ConnectionState;
  /** A send entered the outbox (render it as pending). */
  queued: OutboxEntry;
  /** A send was acked, including sends restored from storage whose promise belonged to an earlier page. */
  ack: AckFrame;
  /** A send the server refused for good (not a member, too large…); it leaves the outbox. */
  send_failed: { entry: OutboxEntry; error: ErrorFrame };
  /** An error frame not tied to one of our sends or requests. */
  error: ErrorFrame;
};

export type SendOptions = {
  contentType?: ContentType;
  /** The seq of the message this one answers (its thread). */
  replyTo?: number;
  /** Members this message mentions (at most 50). */
  mentions?: string[];
};

export type NatterClientOptions = {
  /** The server's base URL (http, https, ws or wss). A function is asked again before every connect. */
  url: string | (() => string);
  /**
   * A token, or a function that returns a fresh one: called before every connect, and when the
   * server says the socket's token is about to expire (`token_expiring`), to renew it in place with
   * `reauth` without dropping the socket. A plain string cannot be renewed: the socket is closed
   * at expiry (4001) and reconnects with the same, expired, token.
   */
  token: string | (() => string | Promise<string>);
  deviceId: string;
  /** Defaults to the global WebSocket; Node 20 has none, so pass the `ws` package there. */
  WebSocket?: SocketConstructor;
  /** Keeps the sync cursor and the unacked sends; defaults to memory. */
  storage?: NatterStorage;
  backoff?: Partial<BackoffOptions>;
  /** A ping goes out this often; a connection that stays silent for a whole interval is dropped. 0 turns it off. */
  heartbeatMs?: number;
};
