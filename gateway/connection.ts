import type { WebSocket } from 'ws';
import type { Outbound } from '../ports/delivery.ts';
import type { ErrorFrame } from '../contracts/frames.ts';
import { closeCodes } from '../contracts/close-codes.ts';
import { LiveOrder, type LiveOut } from './live-order.ts';

let nextId = 0;

/** How long live frames wait behind a missing seq before the device is told to sync (live-order.ts). */
const GAP_WAIT_MS = 200;

/** Past this many times the soft limit, a socket is cut at once, whatever its grace. */
export const HARD_BUFFER_FACTOR = 4;

export type ConnectionLimits = {
  /** The soft limit: bytes a socket may keep queued for `slowConsumerGraceMs` before it is cut. */
  maxBufferBytes: number;
  slowConsumerGraceMs: number;
  maxHeldFrames: number;
  gapWaitMs?: number;
  /**
   * From the upgrade until the device's first frame, at most this long (0: not at all), live
   * messages are held as during a sync. A reconnecting client's first frame is its sync; the
   * cluster's projectors may meanwhile fan out messages appended before the socket registered,
   * which belong after the synced ones (the sync covers them).
   */
  connectHoldMs?: number;
};

/**
 * One device's socket. Frames are strings serialized once by the fan-out. While the device is
 * syncing, live messages are held back and then released after the synced ones, so that the
 * device sees each conversation in seq order. Live frames go through a LiveOrder, which drops a
 * second copy of a frame and keeps each conversation's messages in seq order.
 */
export class Connection {
  readonly id = ++nextId;
  readonly sessionId: string;
  /** Cleared at each heartbeat tick, set again by a pong or any frame from the device. */
  alive = true;
  /** Why the server closed this socket, when it did (for metrics and logs). */
  closeReason: string | undefined;
  /** When the socket's token expires (epoch ms), and the second whose bucket it waits in (gateway/token-expiry.ts). */
  tokenExpiresAt = 0;
  tokenBucket = 0;
  private held: Outbound[] | null = null;
  private heldOverflow = false;
  private syncing = false;
  /** Until when (epoch ms) live messages are held for the device's first frame; 0 once it came. */
  private connectHoldUntil: number;
  private connectHoldTimer: NodeJS.Timeout | undefined;
  /** Made at the first live frame: an idle socket should cost bytes. */
  private orderOf: LiveOrder | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    readonly deviceId: string,
    private readonly limits: ConnectionLimits,
    /** Where a message that did not arrive live in time is looked for (gap-fill.ts). */
    private readonly fill?: LiveOut['fill'],
  ) {
    this.sessionId = `${process.pid}-${this.id}`;
    this.connectHoldUntil = limits.connectHoldMs ? Date.now() + limits.connectHoldMs : 0;
  }

  private get order(): LiveOrder {
    if (!this.orderOf) {
      const order = new LiveOrder(
        {
          send: (json) => this.send(json),
          resync: () => this.resync('live frames skipped a message'),
          ...(this.fill ? { fill: this.fill } : {}),
        },
        { gapWaitMs: this.limits.gapWaitMs ?? GAP_WAIT_MS },
      );
      this.orderOf = order;
      this.socket.once('close', () => order.close());
    }
    return this.orderOf;
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  send(json: string): void {
    if (!this.open || this.cutIfSlow()) return;
    this.cork();
    this.socket.send(json);
  }

  /** Since when the socket has had more than the soft limit queued (0: it has not). */
  private overSince = 0;

  /**
   * A device that does not read must not grow our memory; it is cut off, reconnects and syncs.
   * A device that reads but fell behind a burst (a flushed outbox, a busy phone) must not be cut for
   * it, so the limit works like Redis' client-output-buffer-limit: over the soft limit for the grace
   * period, or over the hard limit at all. Checked at each send and at each heartbeat tick.
   */
  cutIfSlow(at?: number): boolean {
    const queued = this.socket.bufferedAmount;
    if (queued <= this.limits.maxBufferBytes) {
      this.overSince = 0;
      return false;
    }
    // The clock is read only past the soft limit: this runs on every frame sent.
    const now = at ?? Date.now();
    this.overSince ||= now;
    if (queued <= this.limits.maxBufferBytes * HARD_BUFFER_FACTOR && now - this.overSince < this.limits.slowConsumerGraceMs) return false;
    this.closeReason = 'slow_consumer';
    this.socket.close(closeCodes.slow_consumer, 'slow consumer: reconnect and sync');
    // close() waits for the peer; a peer that does not read would keep the socket and its buffer.
    setTimeout(() => this.socket.terminate(), 1_000).unref();
    return true;
  }

  /**
   * Frames pushed in one event-loop turn leave in one writev instead of one syscall each: a fan-out
   * or a group commit's acks push many frames to the same socket at once.
   */
  private corked = false;
  private cork(): void {
    if (this.corked) return;
    const raw = (this.socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (!raw) return;
    this.corked = true;
    raw.cork();
    process.nextTick(() => {
      this.corked = false;
      raw.uncork();
    });
  }

  sendFrame(frame: object): void {
    this.send(JSON.stringify(frame));
  }

  error(code: string, message: string, extra: Partial<ErrorFrame> = {}): void {
    this.sendFrame({ type: 'error', code, message, ...extra });
  }

  push(frame: Outbound): void {
    if (frame.kind === 'close') {
      this.closeReason = 'account_erased';
      this.socket.close(closeCodes.account_erased, frame.json);
      return;
    }
    if (frame.kind === 'message' && this.held === null && this.connectHoldUntil !== 0) this.holdForFirstFrame();
    if (this.held && frame.kind === 'message') {
      // Past the limit, frames are dropped and the socket is closed once the sync is done (finishSync).
      if (this.held.length < this.limits.maxHeldFrames) this.held.push(frame);
      else this.heldOverflow = true;
      return;
    }
    this.order.accept(frame);
  }

  /** The timer is made only when a message comes to hold: an idle socket should cost bytes. */
  private holdForFirstFrame(): void {
    const wait = this.connectHoldUntil - Date.now();
    if (wait <= 0) {
      this.connectHoldUntil = 0;
      return;
    }
    this.held = [];
    this.connectHoldTimer = setTimeout(() => this.firstFrame(), wait);
    this.connectHoldTimer.unref();
  }

  /** The device's first frame (or the hold's end): unless a sync took the held messages over, they go out now. */
  firstFrame(): void {
    if (this.connectHoldUntil === 0) return;
    this.connectHoldUntil = 0;
    clearTimeout(this.connectHoldTimer);
    this.connectHoldTimer = undefined;
    if (this.syncing || this.held === null) return;
    if (!this.open) {
      this.held = null;
      return;
    }
    this.release(this.held, 0);
  }

  startSync(): void {
    this.syncing = true;
    this.held ??= [];
    this.firstFrame();
  }

  /** A sync page gave the device a conversation's messages up to `seq`: live frames go on from there. */
  synced(conversationId: string, seq: number): void {
    this.order.synced(conversationId, seq);
  }

  /**
   * Releases held live frames newer than what the finished sync delivered. If some were dropped
   * (more than `maxHeldFrames` arrived during the sync), they may lie above the sync's cursor, where
   * no page returns them: the socket is closed with `resync`, and the client syncs from its cursor.
   */
  finishSync(cursor: number): void {
    this.syncing = false;
    this.release(this.held ?? [], cursor);
  }

  /** A sync that failed: what it held goes out live (the client, told by an error frame, syncs again). */
  abandonSync(): void {
    if (!this.syncing) return;
    this.syncing = false;
    this.release(this.held ?? [], 0);
  }

  private release(held: Outbound[], cursor: number): void {
    const overflowed = this.heldOverflow;
    this.held = null;
    this.heldOverflow = false;
    if (overflowed) {
      this.resync('live frames dropped while held');
      return;
    }
    for (const frame of held) if (frame.position > cursor) this.order.accept(frame);
  }

  /** Tells the client that it missed live frames: it reconnects and syncs from its last cursor. */
  private resync(reason: string): void {
    if (!this.open) return;
    this.closeReason = 'resync';
    this.socket.close(closeCodes.resync, `${reason}: reconnect and sync`);
    setTimeout(() => this.socket.terminate(), 1_000).unref();
  }
}
