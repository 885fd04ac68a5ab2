/** The socket URL for a server's base URL. Browsers cannot set headers on an upgrade, so the token rides in the query. */
export const socketUrl = (base: string, token: string, deviceId: string): string =>
  `${base.replace(/^http/, 'ws').replace(/\/+$/, '')}/v1/ws?token=${encodeURIComponent(token)}&device_id=${encodeURIComponent(deviceId)}`;

/**
 * Cursors are opaque to clients, but they are ordered (the README asks for the highest one seen)
 * and are decimal strings without leading zeros: a longer one is newer, and equal lengths compare
 * as text. Comparing as numbers would lose precision past 2^53.
 */
export const newerCursor = (candidate: string, current: string | undefined): boolean =>
  current === undefined || candidate.length > current.length || (candidate.length === current.length && candidate > current);
