import { createPrivateKey } from 'node:crypto';
import type { PushNotification, PushProvider, PushResult, PushTarget } from '../../ports/push.ts';
import { httpsAgent, isTransient, retryAfterMs, send, signJwt } from './http.ts';

export type FcmOptions = {
  serviceAccount: { client_email: string; private_key: string; project_id: string };
  /** Default https://fcm.googleapis.com */
  endpoint: string;
  /** The OAuth2 token endpoint (the service account's token_uri). */
  tokenUrl: string;
  ca?: string | undefined;
  clock?: () => number;
};

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** The FCM message for one device; `data` values must be strings. */
export const fcmMessage = (token: string, n: PushNotification) => ({
  message: {
    token,
    notification: { title: n.title, body: n.body },
    data: { conversation_id: n.conversation_id, seq: String(n.seq), unread: String(n.unread), badge: String(n.badge) },
    android: { collapse_key: n.collapse_key, priority: 'HIGH', notification: { tag: n.collapse_key, notification_count: n.unread } },
    apns: { headers: { 'apns-collapse-id': n.collapse_key }, payload: { aps: { badge: n.badge, 'thread-id': n.conversation_id } } },
  },
});

/**
 * FCM HTTP v1. A service-account JWT (RS256) is exchanged at the token endpoint for an OAuth2
 * access token, cached until shortly before it expires; then one `messages:send` per device.
 */
export const createFcmProvider = (options: FcmOptions): PushProvider => {
  const clock = options.clock ?? Date.now;
  const agent = httpsAgent(options.ca);
  const key = createPrivateKey(options.serviceAccount.private_key);
  let cached: { token: string; expiresAt: number } | null = null;
  let pending: Promise<string> | null = null;

  const fetchToken = async (): Promise<string> => {
    const now = Math.floor(clock() / 1000);
    const assertion = signJwt(
      {},
      {
        iss: options.serviceAccount.client_email,
        scope: SCOPE,
        aud: options.tokenUrl,
        iat: now,
        exp: now + 3600,
      },
      key,
      'RS256',
    );
    const reply = await send(options.tokenUrl, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    if (reply.status !== 200) throw Object.assign(new Error(`token endpoint answered ${reply.status}`), { status: reply.status, headers: reply.headers });
    const body = JSON.parse(reply.body) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new Error('token endpoint sent no access_token');
    cached = { token: body.access_token, expiresAt: clock() + Math.max(60, (body.expires_in ?? 3600) - 60) * 1000 };
    return body.access_token;
  };
  const accessToken = (): Promise<string> => {
    if (cached && cached.expiresAt > clock()) return Promise.resolve(cached.token);
    // One token request at a time, however many pushes wait for it.
    pending ??= fetchToken().finally(() => {
      pending = null;
    });
    return pending;
  };

  const sendOnce = async (target: PushTarget & { platform: 'fcm' | 'apns' }, n: PushNotification): Promise<PushResult | 'reauth'> => {
    let token: string;
    try {
      token = await accessToken();
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== undefined && !isTransient(status)) return { ok: false, reason: 'failed', detail: `token endpoint: ${status}` };
      const after = retryAfterMs((error as { headers?: Record<string, string> }).headers?.['retry-after']);
      return { ok: false, reason: 'retry', detail: `token endpoint: ${(error as Error).message}`, ...(after !== undefined ? { retryAfterMs: after } : {}) };
    }
    const reply = await send(`${options.endpoint}/v1/projects/${encodeURIComponent(options.serviceAccount.project_id)}/messages:send`, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(fcmMessage(target.token, n)),
    });
    if (reply.status === 200) return { ok: true };
    let code = '';
    try {
      const error = (JSON.parse(reply.body) as { error?: { status?: string; details?: Array<{ errorCode?: string }> } }).error;
      code = error?.details?.find((d) => d.errorCode)?.errorCode ?? error?.status ?? '';
    } catch {
      /* not JSON */
    }
    if (reply.status === 401) return 'reauth';
    if (reply.status === 404 || code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH')
      return { ok: false, reason: 'invalid_target', detail: code || String(reply.status) };
    if (isTransient(reply.status)) {
      const after = retryAfterMs(reply.headers['retry-after']);
      return { ok: false, reason: 'retry', detail: `${reply.status} ${code}`.trim(), ...(after !== undefined ? { retryAfterMs: after } : {}) };
    }
    return { ok: false, reason: 'failed', detail: `${reply.status} ${code}`.trim() };
  };

  return {
    platform: 'fcm',
    send: async (target, n) => {
      if (target.platform === 'webpush') return { ok: false, reason: 'failed', detail: 'not an FCM target' };
      try {
        const first = await sendOnce(target, n);
        if (first !== 'reauth') return first;
        // A revoked or expired access token: get a new one, once.
        cached = null;
        const second = await sendOnce(target, n);
        return second === 'reauth' ? { ok: false, reason: 'failed', detail: '401 after a fresh access token' } : second;
      } catch (error) {
        return { ok: false, reason: 'retry', detail: (error as Error).message };
      }
    },
    close: async () => {
      agent.destroy();
    },
  };
};
