import { fullJitter, type BackoffOptions } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { memoryStorage, type NatterStorage } from './storage.ts';
import { newerCursor, socketUrl } from './urls.ts';
import type {
  AckFrame, AnyClientFrame, AnyServerFrame, ContentType, ConversationUpdatedFrame, ErrorFrame, Message, MessageStatusFrame,
  PresenceFrame, TypingFrame,
} from './wire.ts';

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
  /** A message, live or synced, once per `message_id`. */
  message: Message;
  status: MessageStatusFrame;
  presence: PresenceFrame;
  typing: TypingFrame;
  conversation: ConversationUpdatedFrame;
  state: ConnectionState;
  /** A send entered the outbox (render it as pending). */
  queued: OutboxEntry;
  /** A send was acked, including sends restored from storage whose promise belonged to an earlier page. */
  ack: AckFrame;
  /** A send the server refused for good (not a member, too large…); it leaves the outbox. */
  send_failed: { entry: OutboxEntry; error: ErrorFrame };
  /** An error frame not tied to one of our sends. */
  error: ErrorFrame;
};

export type NatterClientOptions = {
  /** The server's base URL (http, https, ws or wss). A function is asked again before every connect. */
  url: string | (() => string);
  /** A token, or a function that returns a fresh one before every connect. */
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

export class NatterSendError extends Error {
  constructor(readonly code: string, message: string, readonly entry: OutboxEntry) {
    super(`${code}: ${message}`);
    this.name = 'NatterSendError';
  }
}

/** Failures a retry with the same client_msg_id can fix; anything else will fail the same way again. */
const retryable = new Set(['rate_limited', 'internal', 'unavailable', 'version_conflict']);
const OPEN = 1;
const SEEN_IDS_KEPT = 10_000;
type Timer = ReturnType<typeof setTimeout>;

/**
 * A Natter device. It keeps one socket open, reconnecting with backoff; after every (re)connect it
 * syncs from the last cursor and resends what was not acked. Sends of one conversation go out one
 * at a time, in order, with a stable client_msg_id, so a retry is idempotent on the server.
 */
export class NatterClient extends Emitter<NatterEvents> {
  private readonly options: NatterClientOptions;
  private readonly Socket: SocketConstructor;
  private readonly storage: NatterStorage;
  private readonly backoff: BackoffOptions;
  private readonly loaded: Promise<void>;
  private outbox = new Outbox();
  private cursorValue: string | undefined;
  private stateValue: ConnectionState = 'idle';
  private socket: SocketLike | null = null;
  private attempt = 0;
  /** Set by `goaway`: the server's own delay replaces the backoff for the next reconnect. */
  private goawayDelayMs: number | null = null;
  private reconnectTimer: Timer | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private heard = true;
  private readonly waiting = new Map<string, { resolve(ack: AckFrame): void; reject(error: Error): void }>();
  private readonly inFlight = new Set<string>();
  private readonly paused = new Map<string, Timer>();
  private readonly retries = new Map<string, number>();
  /** Receipts made while offline, highest per conversation, sent on the next connect. */
  private readonly unsentMarks = new Map<string, Extract<AnyClientFrame, { type: 'mark_read' | 'mark_delivered' }>>();
  private readonly seen = new Set<string>();
  /**
   * Messages received on this connection before its sync finished. Live frames can pass synced
   * ones here (the server holds live frames back only from the `sync` frame on), so they are
   * released in log order as each sync page completes.
   */
  private unsynced: Message[] | null = null;
  private onlineWaiters: Array<() => void> = [];

  constructor(options: NatterClientOptions) {
    super();
    this.options = options;
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
    if (!Socket) throw new Error('no global WebSocket here (Node 20): pass the `ws` package as the WebSocket option');
    this.Socket = Socket;
    this.storage = options.storage ?? memoryStorage();
    this.backoff = { baseMs: 500, capMs: 30_000, ...options.backoff };
    this.loaded = this.load();
  }

  get state(): ConnectionState { return this.stateValue; }
  get cursor(): string | undefined { return this.cursorValue; }
  /** Sends not acked yet, oldest first (also those restored from storage). */
  pending(): readonly OutboxEntry[] { return this.outbox.list(); }

  /** Starts connecting (once) and resolves when the client is connected and synced. */
  async connect(): Promise<void> {
    if (this.stateValue === 'closed') throw new Error('this client is closed');
    if (this.stateValue === 'online') return;
    const online = new Promise<void>((resolve) => this.onlineWaiters.push(resolve));
    if (this.stateValue === 'idle') {
      this.setState('connecting');
      await this.loaded;
      void this.open();
    }
    return online;
  }

  /** Queues a message; resolves with its ack, however many reconnects that takes. */
  async send(conversationId: string, content: string, contentType?: ContentType): Promise<AckFrame> {
    await this.loaded;
    if (this.stateValue === 'closed') throw new Error('this client is closed');
    const entry: OutboxEntry = { client_msg_id: this.newClientMsgId(), conversation_id: conversationId, content, ...(contentType ? { content_type: contentType } : {}) };
    const acked = new Promise<AckFrame>((resolve, reject) => this.waiting.set(entry.client_msg_id, { resolve, reject }));
    this.outbox.add(entry);
    await this.saveOutbox();
    this.emit('queued', entry);
    this.pump();
    return acked;
  }

  markRead(conversationId: string, upToSeq: number): void { this.mark('mark_read', conversationId, upToSeq); }
  markDelivered(conversationId: string, upToSeq: number): void { this.mark('mark_delivered', conversationId, upToSeq); }

  /** Typing is ephemeral: while offline it is dropped, not queued. */
  typing(conversationId: string, state: 'start' | 'stop'): void {
    this.transmit({ type: 'typing', conversation_id: conversationId, state });
  }

  /** Stops for good. Unacked sends stay in storage for the next client; their promises reject here. */
  close(): void {
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    for (const timer of this.paused.values()) clearTimeout(timer);
    this.paused.clear();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'client closed');
    for (const waiter of this.waiting.values()) waiter.reject(new Error('client closed before the ack'));
    this.waiting.clear();
  }

  private async load(): Promise<void> {
    const [cursor, outbox] = await Promise.all([this.storage.get('cursor'), this.storage.get('outbox')]);
    this.cursorValue = cursor ?? undefined;
    this.outbox = new Outbox(outbox ? (JSON.parse(outbox) as OutboxEntry[]) : []);
  }

  private async open(): Promise<void> {
    this.reconnectTimer = undefined;
    this.setState('connecting');
    let url: string;
    try {
      const { url: base, token } = this.options;
      url = socketUrl(typeof base === 'function' ? base() : base, typeof token === 'function' ? await token() : token, this.options.deviceId);
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.stateValue === 'closed') return;
    const socket = new this.Socket(url);
    this.socket = socket;
    socket.onopen = () => { if (socket === this.socket) this.opened(socket); };
    socket.onmessage = (event) => { if (socket === this.socket) this.receive(String(event.data)); };
    socket.onclose = () => { if (socket === this.socket) this.lost(); };
    // A refused or broken connection is followed by a close event, which reconnects.
    socket.onerror = () => {};
  }

  private opened(socket: SocketLike): void {
    this.setState('syncing');
    this.unsynced = [];
    this.requestSync();
    for (const frame of this.unsentMarks.values()) this.transmit(frame);
    this.unsentMarks.clear();
    this.pump();
    this.heard = true;
    clearInterval(this.heartbeat);
    if (this.options.heartbeatMs !== 0) {
      this.heartbeat = setInterval(() => {
        if (this.heard) { this.heard = false; this.transmit({ type: 'ping' }); return; }
        // Silent for a whole interval: the peer is gone without a close; do not wait for TCP to notice.
        this.socket = null;
        socket.close(4000, 'no heartbeat');
        this.lost();
      }, this.options.heartbeatMs ?? 25_000);
    }
  }

  private lost(): void {
    this.socket = null;
    // Whatever is still held lies past the stored cursor, so the next sync delivers it again.
    this.unsynced = null;
    clearInterval(this.heartbeat);
    // What was on the wire is resent after the reconnect, with the same client_msg_id.
    this.inFlight.clear();
    if (this.stateValue === 'closed') return;
    this.setState('offline');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.goawayDelayMs ?? fullJitter(this.attempt++, this.backoff);
    this.goawayDelayMs = null;
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  private receive(text: string): void {
    this.heard = true;
    const frame = JSON.parse(text) as AnyServerFrame;
    switch (frame.type) {
      case 'ack': this.acked(frame); return;
      case 'new_message': {
        const { type: _, ...message } = frame;
        if (this.unsynced) { this.unsynced.push(message); return; }
        void this.advance(message.cursor);
        this.deliver(message);
        return;
      }
      case 'conversation_updated': this.adopt(frame.cursor); this.emit('conversation', frame); return;
      case 'message_status': this.emit('status', frame); return;
      case 'presence': this.emit('presence', frame); return;
      case 'typing': this.emit('typing', frame); return;
      case 'sync_done':
        this.releaseSynced(frame.cursor, !frame.has_more);
        void this.advance(frame.cursor);
        if (frame.has_more) { this.requestSync(); return; }
        this.attempt = 0;
        this.setState('online');
        return;
      case 'goaway':
        // The server is draining: leave now so it can stop, and come back after its delay.
        this.goawayDelayMs = frame.reconnect_after_ms;
        this.socket?.close(1000, 'goaway');
        return;
      case 'error': this.refused(frame); return;
      case 'pong': return;
    }
  }

  private acked(ack: AckFrame): void {
    const entry = this.outbox.take(ack.client_msg_id);
    if (!entry) return; // the ack of a resend that an earlier ack already settled
    this.inFlight.delete(entry.conversation_id);
    this.retries.delete(entry.client_msg_id);
    void this.saveOutbox();
    this.waiting.get(entry.client_msg_id)?.resolve(ack);
    this.waiting.delete(entry.client_msg_id);
    this.emit('ack', ack);
    this.pump();
  }

  private refused(error: ErrorFrame): void {
    const entry = error.client_msg_id ? this.outbox.list().find((e) => e.client_msg_id === error.client_msg_id) : undefined;
    if (!entry) {
      // A sync refused for its rate is asked again once the budget allows; nothing else needs a retry.
      if (error.code === 'rate_limited' && this.stateValue === 'syncing') setTimeout(() => this.requestSync(), error.retry_after_ms ?? this.backoff.baseMs);
      this.emit('error', error);
      return;
    }
    const conversationId = entry.conversation_id;
    this.inFlight.delete(conversationId);
    if (retryable.has(error.code)) {
      const attempt = this.retries.get(entry.client_msg_id) ?? 0;
      this.retries.set(entry.client_msg_id, attempt + 1);
      const delay = error.retry_after_ms ?? fullJitter(attempt, this.backoff);
      this.paused.set(conversationId, setTimeout(() => { this.paused.delete(conversationId); this.pump(); }, delay));
      return;
    }
    this.outbox.take(entry.client_msg_id);
    this.retries.delete(entry.client_msg_id);
    void this.saveOutbox();
    this.waiting.get(entry.client_msg_id)?.reject(new NatterSendError(error.code, error.message, entry));
    this.waiting.delete(entry.client_msg_id);
    this.emit('send_failed', { entry, error });
    this.pump();
  }

  /** Puts the head of every conversation's queue on the wire, unless one is already there or waiting to retry. */
  private pump(): void {
    if (this.socket?.readyState !== OPEN) return;
    for (const entry of this.outbox.heads()) {
      if (this.inFlight.has(entry.conversation_id) || this.paused.has(entry.conversation_id)) continue;
      this.inFlight.add(entry.conversation_id);
      this.transmit({ type: 'send_message', ...entry });
    }
  }

  private mark(type: 'mark_read' | 'mark_delivered', conversationId: string, upToSeq: number): void {
    const frame = { type, conversation_id: conversationId, up_to_seq: upToSeq };
    if (this.transmit(frame)) return;
    const key = `${type}:${conversationId}`;
    if ((this.unsentMarks.get(key)?.up_to_seq ?? -1) < upToSeq) this.unsentMarks.set(key, frame);
  }

  private transmit(frame: AnyClientFrame): boolean {
    if (this.socket?.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private requestSync(): void {
    this.transmit({ type: 'sync', ...(this.cursorValue ? { cursor: this.cursorValue } : {}) });
  }

  /** Emits the held messages up to a finished sync page (all of them after the last page), in log order. */
  private releaseSynced(cursor: string, last: boolean): void {
    if (!this.unsynced) return;
    const byPosition = this.unsynced.sort((a, b) => (a.cursor === b.cursor ? 0 : newerCursor(a.cursor, b.cursor) ? 1 : -1));
    const ready = last ? byPosition : byPosition.filter((m) => !newerCursor(m.cursor, cursor));
    this.unsynced = last ? null : byPosition.filter((m) => newerCursor(m.cursor, cursor));
    for (const message of ready) this.deliver(message);
  }

  private deliver(message: Message): void {
    if (this.firstSighting(message.message_id)) this.emit('message', message);
  }

  /**
   * Live frames that arrive before this connection's sync has finished may be newer than messages
   * the sync has yet to deliver; storing their cursor could skip those after a drop. So until then
   * only `sync_done` moves the cursor.
   */
  private adopt(cursor: string): void {
    if (this.stateValue === 'online') void this.advance(cursor);
  }

  private async advance(cursor: string): Promise<void> {
    if (!newerCursor(cursor, this.cursorValue)) return;
    this.cursorValue = cursor;
    await this.storage.set('cursor', cursor);
  }

  private firstSighting(messageId: string): boolean {
    if (this.seen.has(messageId)) return false;
    this.seen.add(messageId);
    if (this.seen.size > SEEN_IDS_KEPT) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  private async saveOutbox(): Promise<void> {
    await this.storage.set('outbox', JSON.stringify(this.outbox.list()));
  }

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
    if (state === 'online') for (const resolve of this.onlineWaiters.splice(0)) resolve();
  }

  private newClientMsgId(): string {
    const random = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
    return `${this.options.deviceId}-${Date.now().toString(36)}-${random}`;
  }
}
