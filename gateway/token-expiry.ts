import { closeCodes } from '../contracts/close-codes.ts';
import type { TokenExpiringFrame } from '../contracts/frames.ts';
import type { Connection } from './connection.ts';

const second = (ms: number) => Math.floor(ms / 1000);

/**
 * A socket lives no longer than its token. Idle sockets must stay cheap, so there is no timer per
 * socket: each socket waits in the bucket of the second of its next event (its `token_expiring`
 * notice, then its expiry), and one timer per gateway, armed only while a bucket is waiting, visits
 * the due buckets at each second boundary. A token's `exp` is a whole second, so a socket is closed
 * with 4001 within a few ms of it; the notice goes out at the second boundary at or before
 * `noticeMs` ahead of `exp` (at once when the token is already that close). `watch` again (a
 * `reauth`) replaces the deadline and brings a new notice; `forget` when the socket closes.
 */
export const createTokenExpiry = ({ noticeMs }: { noticeMs: number }) => {
  const buckets = new Map<number, Set<Connection>>();
  /** Every bucket up to this second has been visited. */
  let visited = second(Date.now());
  let timer: ReturnType<typeof setTimeout> | undefined;

  const put = (connection: Connection, at: number) => {
    connection.tokenBucket = at;
    let bucket = buckets.get(at);
    if (!bucket) buckets.set(at, (bucket = new Set()));
    bucket.add(connection);
  };

  const forget = (connection: Connection) => {
    const bucket = buckets.get(connection.tokenBucket);
    if (bucket?.delete(connection) && bucket.size === 0) buckets.delete(connection.tokenBucket);
    connection.tokenBucket = 0;
  };

  const notice = (connection: Connection, now: number) => {
    connection.sendFrame({ type: 'token_expiring', expires_in_ms: Math.max(0, connection.tokenExpiresAt - now) } satisfies TokenExpiringFrame);
  };

  const expire = (connection: Connection) => {
    connection.closeReason = 'token_expired';
    connection.socket.close(closeCodes.token_expired, 'token expired');
    // close() waits for the peer's close frame; a peer that never answers must not keep the socket.
    setTimeout(() => connection.socket.terminate(), 1_000).unref();
  };

  // A few ms past the boundary: libuv's clock may run a little behind Date.now().
  const arm = (now: number) => {
    timer = setTimeout(tick, 1_000 - (now % 1_000) + 3).unref();
  };

  const tick = () => {
    const now = Date.now();
    for (let at = visited + 1; at <= second(now); at++) {
      const due = buckets.get(at);
      if (!due) continue;
      buckets.delete(at);
      for (const connection of due) {
        connection.tokenBucket = 0;
        // A bucket before the deadline is the notice's; the expiry's bucket may be visited in this same loop.
        if (at * 1000 < connection.tokenExpiresAt) {
          notice(connection, now);
          put(connection, Math.ceil(connection.tokenExpiresAt / 1000));
        } else expire(connection);
      }
    }
    visited = second(now);
    if (buckets.size > 0) arm(now);
    else timer = undefined;
  };

  return {
    watch(connection: Connection, expiresAt: number): void {
      const now = Date.now();
      forget(connection);
      connection.tokenExpiresAt = expiresAt;
      if (!timer) {
        visited = second(now);
        arm(now);
      }
      const noticeAt = second(expiresAt - noticeMs);
      if (noticeMs > 0 && noticeAt > visited) {
        put(connection, noticeAt);
        return;
      }
      if (noticeMs > 0) notice(connection, now);
      put(connection, Math.max(visited + 1, Math.ceil(expiresAt / 1000)));
    },
    forget,
    stop(): void {
      clearTimeout(timer);
      timer = undefined;
      buckets.clear();
    },
  };
};
export type TokenExpiry = ReturnType<typeof createTokenExpiry>;
