import { fullJitter, type BackoffOptions } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { releaseHeld, type Held } from './held.ts';
import type { ConnectionState, NatterClientOptions, NatterEvents, SendOptions, SocketConstructor, SocketLike } from './options.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { Requests, type SentRequest } from './requests.ts';
import { memoryStorage, type NatterStorage } from './storage.ts';
import { newerCursor, socketUrl } from './urls.ts';
import type { AckFrame, AnyClientFrame, AnyServerFrame, ContentType, ErrorFrame, Message } from './wire.ts';

export class NatterSendError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly entry: OutboxEntry,
  ) {
    super(`${code}: ${message}`);
    this.name = 'NatterSendError';
  }
}

/** Failures a retry (same client_msg_id or request_id) can fix; anything else will fail the same way again. */
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
  private readonly requests: Requests;
  /**
   * Messages, updates and reactions received on this connection before its sync finished: they
   * are released in log order as each sync page completes (see `releaseHeld`).
   */
  private unsynced: Held[] | null = null;
  private onlineWaiters: Array<() => void> = [];

  constructor(options: NatterClientOptions) {
    super();
    this.options = options;
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
    if (!Socket) throw new Error('no global WebSocket here (Node 20): pass the `ws` package as the WebSocket option');
    this.Socket = Socket;
    this.storage = options.storage ?? memoryStorage();
    this.backoff = { baseMs: 500, capMs: 30_000, ...options.backoff };
    this.requests = new Requests(
      (frame) => this.transmit(frame),
      (code) => retryable.has(code),
      (attempt, error) => error.retry_after_ms ?? fullJitter(attempt, this.backoff),
    );
    this.loaded = this.load();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }
  get cursor(): string | undefined {
    return this.cursorValue;
  }
  /** Sends not acked yet, oldest first (also those restored from storage). */
  pending(): readonly OutboxEntry[] {
    return this.outbox.list();
  }

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

  /** Queues a message (a reply with `replyTo`); resolves with its ack, however many reconnects that takes. */
  async send(conversationId: string, content: string, options: ContentType | SendOptions = {}): Promise<AckFrame> {
    await this.loaded;
    if (this.stateValue === 'closed') throw new Error('this client is closed');
    const { contentType, replyTo, mentions } = typeof options === 'string' ? ({ contentType: options } as SendOptions) : options;
    const entry: OutboxEntry = {
      client_msg_id: this.newClientMsgId(),
      conversation_id: conversationId,
      content,
      ...(contentType ? { content_type: contentType } : {}),
      ...(replyTo !== undefined ? { reply_to_seq: replyTo } : {}),
      ...(mentions?.length ? { mentions } : {}),
    };
    const acked = new Promise<AckFrame>((resolve, reject) => this.waiting.set(entry.client_msg_id, { resolve, reject }));
    this.outbox.add(entry);
    await this.saveOutbox();
    this.emit('queued', entry);
    this.pump();
    return acked;
  }

  /**
   * Edits, deletes and reactions go over the socket and resolve once durable (`ok`), or reject with
   * a NatterRequestError carrying the server's code (`forbidden`, `edit_window_closed`,
   * `message_deleted`, `message_not_found`…). While offline they wait for the next connect, and
   * what a dropped socket may not have delivered is sent again: the server takes a repeat as a no-op
   * (an edit is last-write-wins). `close()` rejects those still waiting.
   */
  edit(conversationId: string, seq: number, content: string): Promise<void> {
    return this.request({ type: 'edit_message', conversation_id: conversationId, seq, content, request_id: this.newRequestId() });
  }
  /** Deletes a message (the author's, or any as a group admin); deleting again succeeds too. */
  delete(conversationId: string, seq: number): Promise<void> {
    return this.request({ type: 'delete_message', conversation_id: conversationId, seq, request_id: this.newRequestId() });
  }
  /** Adds the user's reaction (one emoji); adding one that is there succeeds and changes nothing. */
  react(conversationId: string, seq: number, emoji: string): Promise<void> {
    return this.request({ type: 'react', conversation_id: conversationId, seq, emoji, op: 'add', request_id: this.newRequestId() });
  }
  /** Removes the user's reaction; removing one that is not there succeeds too. */
  unreact(conversationId: string, seq: number, emoji: string): Promise<void> {
    return this.request({ type: 'react', conversation_id: conversationId, seq, emoji, op: 'remove', request_id: this.newRequestId() });
  }

  markRead(conversationId: string, upToSeq: number): void {
    this.mark('mark_read', conversationId, upToSeq);
  }
  markDelivered(conversationId: string, upToSeq: number): void {
    this.mark('mark_delivered', conversationId, upToSeq);
  }

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
    this.requests.rejectAll('client closed before the answer');
  }

  private async request(frame: SentRequest): Promise<void> {
    if (this.stateValue === 'closed') throw new Error('this client is closed');
    return this.requests.add(frame);
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
    socket.onopen = () => {
      if (socket === this.socket) this.opened(socket);
    };
    socket.onmessage = (event) => {
      if (socket === this.socket) this.receive(String(event.data));
    };
    socket.onclose = () => {
      if (socket === this.socket) this.lost();
    };
    // Browsers and `ws` follow an error with a close event; Node 20's built-in WebSocket does not
    // when the connection is refused. So the error is the loss, and the close that may follow finds
    // another socket current and is ignored.
    socket.onerror = () => {
      if (socket === this.socket) this.lost();
    };
  }

  private opened(socket: SocketLike): void {
    this.setState('syncing');
    this.unsynced = [];
    this.requestSync();
    for (const frame of this.unsentMarks.values()) this.transmit(frame);
    this.unsentMarks.clear();
    this.pump();
    this.requests.resend();
    this.heard = true;
    clearInterval(this.heartbeat);
    if (this.options.heartbeatMs !== 0) {
      this.heartbeat = setInterval(() => {
        if (this.heard) {
          this.heard = false;
          this.transmit({ type: 'ping' });
          return;
        }
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
      case 'ack':
        this.acked(frame);
        return;
      case 'new_message': {
        const { type: _, ...message } = frame;
        this.live({ kind: 'message', value: message });
        return;
      }
      case 'message_updated':
        this.live({ kind: 'updated', value: frame });
        return;
      case 'reaction':
        this.live({ kind: 'reaction', value: frame });
        return;
      case 'ok':
        this.requests.ok(frame.request_id);
        return;
      case 'conversation_updated':
        this.adopt(frame.cursor);
        this.emit('conversation', frame);
        return;
      case 'message_status':
        this.emit('status', frame);
        return;
      case 'presence':
        this.emit('presence', frame);
        return;
      case 'typing':
        this.emit('typing', frame);
        return;
      case 'sync_done':
        this.releaseSynced(frame.cursor, !frame.has_more);
        void this.advance(frame.cursor);
        if (frame.has_more) {
          this.requestSync();
          return;
        }
        this.attempt = 0;
        this.setState('online');
        return;
      case 'goaway':
        // The server is draining: leave now so it can stop, and come back after its delay.
        this.goawayDelayMs = frame.reconnect_after_ms;
        this.socket?.close(1000, 'goaway');
        return;
      case 'token_expiring':
        void this.renew();
        return;
      case 'error':
        this.refused(frame);
        return;
      case 'pong':
        return;
    }
  }

  /**
   * Sends a fresh token on the open socket. When the provider fails, or a reauth is refused (an
   * error frame, then a close), the socket ends at expiry and the reconnect asks the provider again.
   */
  private async renew(): Promise<void> {
    const { token } = this.options;
    if (typeof token !== 'function') return;
    const socket = this.socket;
    let fresh: string;
    try {
      fresh = await token();
    } catch {
      return;
    }
    // A socket that dropped meanwhile has been (or will be) replaced by one opened with a fresh token.
    if (socket === this.socket) this.transmit({ type: 'reauth', token: fresh });
  }

  /** A frame with a log position: held while syncing, else emitted and its cursor kept. */
  private live(held: Held): void {
    if (this.unsynced) {
      this.unsynced.push(held);
      return;
    }
    void this.advance(held.value.cursor);
    this.emitHeld(held);
  }

  private emitHeld(held: Held): void {
    switch (held.kind) {
      case 'message':
        this.deliver(held.value);
        return;
      case 'updated':
        this.emit('updated', held.value);
        return;
      case 'reaction':
        this.emit('reaction', held.value);
        return;
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
    if (this.requests.refused(error)) return;
    const entry = error.client_msg_id ? this.outbox.list().find((e) => e.client_msg_id === error.client_msg_id) : undefined;
    if (!entry) {
      // A sync refused for its rate is asked again once the budget allows; nothing else needs a retry.
      const ofSync = error.client_msg_id === undefined && error.request_id === undefined;
      if (ofSync && error.code === 'rate_limited' && this.stateValue === 'syncing')
        setTimeout(() => this.requestSync(), error.retry_after_ms ?? this.backoff.baseMs);
      this.emit('error', error);
      return;
    }
    const conversationId = entry.conversation_id;
    this.inFlight.delete(conversationId);
    if (retryable.has(error.code)) {
      const attempt = this.retries.get(entry.client_msg_id) ?? 0;
      this.retries.set(entry.client_msg_id, attempt + 1);
      const delay = error.retry_after_ms ?? fullJitter(attempt, this.backoff);
      this.paused.set(
        conversationId,
        setTimeout(() => {
          this.paused.delete(conversationId);
          this.pump();
        }, delay),
      );
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

  /** Emits what was held up to a finished sync page (all of it after the last page), in log order. */
  private releaseSynced(cursor: string, last: boolean): void {
    if (!this.unsynced) return;
    const { ready, rest } = releaseHeld(this.unsynced, cursor, last, (id) => this.seen.has(id));
    this.unsynced = last ? null : rest;
    for (const held of ready) this.emitHeld(held);
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

  /** A client_msg_id, unique per device and stable across resends. */
  private newClientMsgId(): string {
    return `${this.options.deviceId}-${Date.now().toString(36)}-${randomHex()}`;
  }

  /** A request_id only has to match answers on this client's sockets; it stays under the 64 characters allowed. */
  private newRequestId(): string {
    return `r-${Date.now().toString(36)}-${randomHex()}`;
  }
}

const randomHex = () => Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
