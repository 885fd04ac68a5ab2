import { createHash } from 'node:crypto';
import webpush from 'web-push';
import type { PushNotification, PushProvider } from '../../ports/push.ts';
import { httpsAgent, isTransient, retryAfterMs } from './http.ts';

export type WebPushOptions = {
  publicKey: string;
  privateKey: string;
  /** A mailto: or https: contact for the push service (the VAPID `sub`). */
  subject: string;
  /** Hosts a subscription endpoint may point to ("*.example.com" matches subdomains). */
  allowedHosts: string[];
  ca?: string | undefined;
};

/**
 * A subscription's endpoint comes from the client, and the server POSTs to it: without an
 * allow-list, any user could make the server send requests to any host (SSRF).
 */
export const endpointAllowed = (endpoint: string, allowedHosts: readonly string[]): boolean => {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password) return false;
  const host = url.hostname.toLowerCase();
  return allowedHosts.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*') return true;
    if (p.startsWith('*.')) return host.endsWith(p.slice(1));
    return host === p || url.host === p;
  });
};

/** The push service keeps at most one pending message per topic: a later one of the conversation replaces it. */
const topicOf = (collapseKey: string) => createHash('sha256').update(collapseKey).digest('base64url').slice(0, 32);

/** Web Push (RFC 8030) with VAPID (RFC 8292) and an aes128gcm-encrypted payload (RFC 8291), through the `web-push` package. */
export const createWebPushProvider = (options: WebPushOptions): PushProvider => {
  const agent = httpsAgent(options.ca);
  const vapidDetails = { subject: options.subject, publicKey: options.publicKey, privateKey: options.privateKey };
  return {
    platform: 'webpush',
    send: async (target, n: PushNotification) => {
      if (target.platform !== 'webpush') return { ok: false, reason: 'failed', detail: 'not a Web Push target' };
      if (!endpointAllowed(target.subscription.endpoint, options.allowedHosts))
        return { ok: false, reason: 'invalid_target', detail: 'endpoint host not allowed' };
      const payload = JSON.stringify({
        title: n.title,
        body: n.body,
        badge: n.badge,
        unread: n.unread,
        conversation_id: n.conversation_id,
        seq: n.seq,
        tag: n.collapse_key,
      });
      try {
        await webpush.sendNotification({ endpoint: target.subscription.endpoint, keys: target.subscription.keys }, payload, {
          vapidDetails,
          TTL: 24 * 3600,
          urgency: 'high',
          topic: topicOf(n.collapse_key),
          contentEncoding: 'aes128gcm',
          agent,
          timeout: 10_000,
        });
        return { ok: true };
      } catch (error) {
        const e = error as { statusCode?: number; headers?: Record<string, string>; message?: string };
        if (e.statusCode === undefined) return { ok: false, reason: 'retry', detail: e.message ?? String(error) };
        if (e.statusCode === 404 || e.statusCode === 410) return { ok: false, reason: 'invalid_target', detail: String(e.statusCode) };
        if (isTransient(e.statusCode)) {
          const after = retryAfterMs(e.headers?.['retry-after']);
          return { ok: false, reason: 'retry', detail: String(e.statusCode), ...(after !== undefined ? { retryAfterMs: after } : {}) };
        }
        return { ok: false, reason: 'failed', detail: String(e.statusCode) };
      }
    },
    close: async () => {
      agent.destroy();
    },
  };
};
