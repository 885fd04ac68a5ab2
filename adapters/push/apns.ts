import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { createPrivateKey } from 'node:crypto';
import type { PushNotification, PushProvider, PushResult } from '../../ports/push.ts';
import { isTransient, retryAfterMs, signJwt } from './http.ts';

export type ApnsOptions = {
  /** The .p8 signing key (PKCS#8 PEM, P-256). */
  key: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id (apns-topic). */
  topic: string;
  /** https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds. */
  endpoint: string;
  ca?: string | undefined;
  clock?: () => number;
  timeoutMs?: number;
};

/** Apple refuses provider tokens refreshed more often than every 20 minutes, and older than an hour. */
const TOKEN_LIFETIME_MS = 40 * 60_000;

export const apnsPayload = (n: PushNotification) => ({
  aps: { alert: { title: n.title, body: n.body }, badge: n.badge, sound: 'default', 'thread-id': n.conversation_id },
  conversation_id: n.conversation_id,
  seq: n.seq,
});

const INVALID_TOKEN_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic']);

/** APNs over HTTP/2 with token-based auth: an ES256 JWT (kid = key id, iss = team id) per connection, refreshed every 40 min. */
export const createApnsProvider = (options: ApnsOptions): PushProvider => {
  const clock = options.clock ?? Date.now;
  const key = createPrivateKey(options.key);
  let token: { jwt: string; issuedAt: number } | null = null;
  let session: ClientHttp2Session | null = null;

  const providerToken = () => {
    if (!token || clock() - token.issuedAt > TOKEN_LIFETIME_MS) {
      token = { jwt: signJwt({ kid: options.keyId }, { iss: options.teamId, iat: Math.floor(clock() / 1000) }, key, 'ES256'), issuedAt: clock() };
    }
    return token.jwt;
  };

  /** One long-lived HTTP/2 connection, as Apple asks; a new one after it closes or fails. */
  const sessionFor = (): ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    const opened = connect(options.endpoint, options.ca ? { ca: options.ca } : {});
    opened.on('error', () => {
      if (session === opened) session = null;
    });
    opened.on('close', () => {
      if (session === opened) session = null;
    });
    opened.on('goaway', () => {
      if (session === opened) session = null;
    });
    opened.unref();
    session = opened;
    return opened;
  };

  const request = (
    deviceToken: string,
    n: PushNotification,
  ): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(apnsPayload(n));
      const stream = sessionFor().request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: `/3/device/${deviceToken}`,
        authorization: `bearer ${providerToken()}`,
        'apns-topic': options.topic,
        'apns-push-type': 'alert',
        'apns-priority': '10',
        'apns-expiration': String(Math.floor(clock() / 1000) + 24 * 3600),
        // At most 64 bytes; a later notification of the same conversation replaces the earlier one.
        'apns-collapse-id': n.collapse_key.slice(0, 64),
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
      stream.setTimeout(options.timeoutMs ?? 10_000, () => stream.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
        headers = h as typeof headers;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8'), headers }));
      stream.on('close', () => {
        if (!status) reject(new Error('APNs stream closed without a response'));
      });
      stream.on('error', reject);
      stream.end(body);
    });

  const sendOnce = async (deviceToken: string, n: PushNotification): Promise<PushResult | 'reauth'> => {
    const reply = await request(deviceToken, n);
    if (reply.status === 200) return { ok: true };
    let reason = '';
    try {
      reason = (JSON.parse(reply.body) as { reason?: string }).reason ?? '';
    } catch {
      /* no body */
    }
    if (reply.status === 410 || INVALID_TOKEN_REASONS.has(reason)) return { ok: false, reason: 'invalid_target', detail: `${reply.status} ${reason}`.trim() };
    if (reply.status === 403 && (reason === 'ExpiredProviderToken' || reason === 'InvalidProviderToken')) return 'reauth';
    if (isTransient(reply.status)) {
      const after = retryAfterMs(reply.headers['retry-after']);
      return { ok: false, reason: 'retry', detail: `${reply.status} ${reason}`.trim(), ...(after !== undefined ? { retryAfterMs: after } : {}) };
    }
    return { ok: false, reason: 'failed', detail: `${reply.status} ${reason}`.trim() };
  };

  return {
    platform: 'apns',
    send: async (target, n) => {
      if (target.platform !== 'apns') return { ok: false, reason: 'failed', detail: 'not an APNs target' };
      try {
        const first = await sendOnce(target.token, n);
        if (first !== 'reauth') return first;
        token = null;
        const second = await sendOnce(target.token, n);
        return second === 'reauth' ? { ok: false, reason: 'failed', detail: 'provider token refused twice' } : second;
      } catch (error) {
        session?.destroy();
        session = null;
        return { ok: false, reason: 'retry', detail: (error as Error).message };
      }
    },
    close: async () => {
      session?.close();
      session = null;
    },
  };
};
