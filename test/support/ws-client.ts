import { connect as connectTcp, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export type Frame = { type: string; [key: string]: any };

/**
 * A test device: a real WebSocket that records every frame and lets a test wait for the ones it
 * expects, with a timeout that names what was missing.
 */
export class Device {
  readonly frames: Frame[] = [];
  private waiters: Array<{ offer(frame?: Frame): void }> = [];
  closeCode: number | null = null;
  /** WebSocket pings received from the server (counted from before the socket opened). */
  pings = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      this.poke(frame);
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.poke();
    });
    socket.on('ping', () => {
      this.pings++;
    });
  }

  /** `header` sends the token as a header instead of ?token=; other options go to `ws` (e.g. `autoPong: false`). */
  static async connect(wsUrl: string, token: string, deviceId = 'phone', options: { header?: boolean } & WebSocket.ClientOptions = {}): Promise<Device> {
    const { header, ...clientOptions } = options;
    const url = header ? `${wsUrl}/v1/ws?device_id=${deviceId}` : `${wsUrl}/v1/ws?token=${token}&device_id=${deviceId}`;
    const socket = new WebSocket(url, { ...clientOptions, ...(header ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    // Listening before the socket opens: a frame sent right after the upgrade is not missed.
    const device = new Device(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
    });
    return device;
  }

  private poke(frame?: Frame) {
    for (const waiter of [...this.waiters]) waiter.offer(frame);
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  get open() {
    return this.socket.readyState === WebSocket.OPEN;
  }

  of(type: string, match: (f: Frame) => boolean = () => true): Frame[] {
    return this.frames.filter((f) => f.type === type && match(f));
  }

  /** Waits until `count` frames of `type` matching `match` have arrived; returns them. */
  waitFor(type: string, match: (f: Frame) => boolean = () => true, count = 1, timeoutMs = 5_000): Promise<Frame[]> {
    return this.waitUntil((f) => f.type === type && match(f), count, timeoutMs, type);
  }

  /** Each waiter looks at each frame once, so thousands of waiters stay cheap. */
  private waitUntil(match: (f: Frame) => boolean, count: number, timeoutMs: number, what: string): Promise<Frame[]> {
    return new Promise((resolve, reject) => {
      const found = this.frames.filter(match);
      if (found.length >= count) {
        resolve(found);
        return;
      }
      const waiter = {
        offer: (frame?: Frame) => {
          if (frame && match(frame)) found.push(frame);
          if (found.length >= count) {
            done();
            resolve(found);
          }
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${count} ${what} frame(s); got ${found.length}; last frames: ${JSON.stringify(this.frames.slice(-3))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a message and resolves with its ack (or rejects with the error frame). */
  async sendMessage(conversationId: string, content: string, clientMsgId = `c-${Math.random().toString(36).slice(2)}`, timeoutMs = 5_000): Promise<Frame> {
    this.send({ type: 'send_message', conversation_id: conversationId, client_msg_id: clientMsgId, content });
    const [reply] = await this.waitUntil(
      (f) => (f.type === 'ack' || f.type === 'error') && f.client_msg_id === clientMsgId,
      1,
      timeoutMs,
      `ack of ${clientMsgId}`,
    );
    if (reply!.type === 'error') throw new Error(`${reply!.code}: ${reply!.message}`);
    return reply!;
  }

  /** Runs `sync` pages until has_more is false; returns the synced messages and the final cursor. */
  /** Syncs page by page from `cursor`: the missed messages, and the changes to older ones (`message_updated`), in the order they came. */
  async syncAll(cursor?: string, limit?: number): Promise<{ messages: Frame[]; updates: Frame[]; cursor: string }> {
    const messages: Frame[] = [];
    const updates: Frame[] = [];
    let next = cursor;
    for (;;) {
      const before = this.frames.length;
      const seenDone = this.of('sync_done').length;
      this.send({ type: 'sync', ...(next ? { cursor: next } : {}), ...(limit ? { limit } : {}) });
      // The server first waits up to 5 s for the read models to apply what this device may have
      // missed (the cluster's watermarks.caughtUp) and answers anyway then: wait for more than that.
      const [done] = (await this.waitFor('sync_done', () => true, seenDone + 1, 15_000)).slice(-1);
      messages.push(...this.frames.slice(before).filter((f) => f.type === 'new_message'));
      updates.push(...this.frames.slice(before).filter((f) => f.type === 'message_updated'));
      next = done!.cursor;
      if (!done!.has_more) return { messages, updates, cursor: next! };
    }
  }

  /** Resolves with the close code once the socket is closed (by either side). */
  closed(timeoutMs = 5_000): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.closeCode !== null) {
        resolve(this.closeCode);
        return;
      }
      const timer = setTimeout(() => reject(new Error('socket was not closed')), timeoutMs);
      this.socket.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/**
 * A raw TCP client that writes a WebSocket upgrade to `/v1/ws` for the token and device, followed by
 * `after` in the same write, and then only what the test writes itself: for clients that do not
 * behave (a bad frame with the upgrade, no answer to a close). What the server sends is in `answer()`.
 */
export const rawUpgrade = (wsUrl: string, token: string, deviceId: string, after: Buffer = Buffer.alloc(0)) => {
  const url = new URL(`${wsUrl}/v1/ws?token=${token}&device_id=${deviceId}`);
  const socket: Socket = connectTcp(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString('latin1');
  });
  const upgrade =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(upgrade), after]));
  return {
    socket,
    answer: () => answer,
    /** Resolves once the server has answered something. */
    answered: () => (answer ? Promise.resolve() : new Promise<void>((resolve) => socket.once('data', () => resolve()))),
    closed: () => (socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()))),
  };
};
