import type { WebSocket } from 'ws';
import type { Outbound } from '../ports/delivery.ts';
import type { ErrorFrame } from '../contracts/frames.ts';
import { closeCodes } from '../contracts/close-codes.ts';

let nextId = 0;

/**
 * One device's socket. Frames are strings serialized once by the fan-out. While the device is
 * syncing, live messages are held back and then released after the synced ones, so that the
 * device sees each conversation in seq order.
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

  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    readonly deviceId: string,
    private readonly limits: { maxBufferBytes: number; maxHeldFrames: number },
  ) {
    this.sessionId = `${process.pid}-${this.id}`;
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  send(json: string): void {
    if (!this.open) return;
    // A device that does not read must not grow our memory; it reconnects and syncs instead.
    if (this.socket.bufferedAmount > this.limits.maxBufferBytes) {
      this.closeReason = 'slow_consumer';
      this.socket.close(closeCodes.slow_consumer, 'slow consumer: reconnect and sync');
      // close() waits for the peer; a peer that does not read would keep the socket and its buffer.
      setTimeout(() => this.socket.terminate(), 1_000).unref();
      return;
    }
    this.cork();
    this.socket.send(json);
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
    process.nextTick(() => { this.corked = false; raw.uncork(); });
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
    if (this.held && frame.kind === 'message') {
      // Anything dropped here is at or below a later sync page's upper bound, so sync returns it.
      if (this.held.length < this.limits.maxHeldFrames) this.held.push(frame); else this.heldOverflow = true;
      return;
    }
    this.send(frame.json);
  }

  startSync(): void {
    this.held ??= [];
  }

  /** Releases held live frames newer than what the finished sync delivered. */
  finishSync(cursor: number): void {
    const held = this.held ?? [];
    this.held = null;
    this.heldOverflow = false;
    for (const frame of held) if (frame.position > cursor) this.send(frame.json);
  }
}
