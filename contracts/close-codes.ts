/** WebSocket close codes Natter uses; clients reconnect with backoff and `sync` after any of them. */
export const closeCodes = {
  /** Server shutting down or draining: reconnect, possibly to another gateway. */
  going_away: 1001,
  /** A `reauth` carried an invalid token or another user's (policy violation): get a valid token, then reconnect and `sync`. */
  reauth_refused: 1008,
  /** A frame larger than the configured maximum. */
  frame_too_large: 1009,
  /** No pong within the heartbeat TTL: the connection is presumed dead. */
  heartbeat_timeout: 4000,
  /** The socket's token expired without a `reauth`: get a fresh token, then reconnect and `sync`. */
  token_expired: 4001,
  /** The user already holds the maximum number of sockets. */
  too_many_connections: 4009,
  /** The device did not read fast enough and its send buffer filled up: reconnect and `sync`. */
  slow_consumer: 4008,
  /** The user's account was erased: its tokens are refused from now on. */
  account_erased: 4003,
  /**
   * Live frames were lost: a message did not arrive within 200 ms of the one after it, or more
   * frames arrived during a sync than the server holds: reconnect and `sync` from the last cursor.
   */
  resync: 4010,
} as const;
