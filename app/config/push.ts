import { readFileSync } from 'node:fs';
import { ConfigError, bool, int, list, optionalText, text, url, type Env } from './validate.ts';

export type PushConfig = {
  collapseMs: number;
  includeContent: boolean;
  maxAttempts: number;
  retryBaseMs: number;
  /** Messages older than this when the push reactor sees them (a catch-up after downtime) are not pushed. */
  maxAgeMs: number;
  /** Extra trusted CA certificates (PEM) for the push services, e.g. a private gateway. */
  ca: string | undefined;
  webpush: { publicKey: string; privateKey: string; subject: string; allowedHosts: string[] } | undefined;
  fcm:
    | { serviceAccount: { client_email: string; private_key: string; project_id: string; token_uri?: string }; endpoint: string; tokenUrl: string }
    | undefined;
  apns: { key: string; keyId: string; teamId: string; topic: string; endpoint: string } | undefined;
};

/** A PEM given inline, or the path of a file holding one. */
export const readKey = (name: string, value: string) => {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${name} must be a PEM or the path of one; cannot read ${JSON.stringify(value)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
};

type ServiceAccount = NonNullable<PushConfig['fcm']>['serviceAccount'];

const serviceAccount = (value: string): ServiceAccount => {
  const json = value.trim().startsWith('{') ? value : readKey('NATTER_FCM_SERVICE_ACCOUNT', value);
  let parsed: Partial<ServiceAccount>;
  try {
    parsed = JSON.parse(json) as Partial<ServiceAccount>;
  } catch {
    throw new ConfigError('NATTER_FCM_SERVICE_ACCOUNT must be a service-account JSON (or the path of one); it does not parse as JSON');
  }
  if (!parsed.client_email || !parsed.private_key || !parsed.project_id)
    throw new ConfigError('NATTER_FCM_SERVICE_ACCOUNT must have client_email, private_key and project_id');
  return parsed as ServiceAccount;
};

const trimSlash = (value: string) => value.replace(/\/$/, '');

/**
 * Push providers are enabled by their settings; without any, the log provider prints what would be
 * sent. Every setting is read (and checked) whether or not its provider is enabled.
 */
export const pushConfig = (env: Env): PushConfig => {
  const s = {
    fcmAccount: optionalText(env, 'NATTER_FCM_SERVICE_ACCOUNT'),
    fcmEndpoint: url(env, 'NATTER_FCM_ENDPOINT', 'https://fcm.googleapis.com', ['https', 'http']),
    fcmTokenUrl: url(env, 'NATTER_FCM_TOKEN_URL', '', ['https', 'http']),
    vapidPublic: optionalText(env, 'NATTER_VAPID_PUBLIC_KEY'),
    vapidPrivate: optionalText(env, 'NATTER_VAPID_PRIVATE_KEY'),
    vapidSubject: text(env, 'NATTER_VAPID_SUBJECT', 'mailto:admin@localhost'),
    webpushHosts: list(env, 'NATTER_WEBPUSH_ALLOWED_HOSTS', ['fcm.googleapis.com', '*.push.services.mozilla.com', '*.notify.windows.com', '*.push.apple.com']),
    apnsKey: optionalText(env, 'NATTER_APNS_KEY'),
    apnsKeyId: optionalText(env, 'NATTER_APNS_KEY_ID'),
    apnsTeamId: optionalText(env, 'NATTER_APNS_TEAM_ID'),
    apnsTopic: optionalText(env, 'NATTER_APNS_TOPIC'),
    apnsEndpoint: url(env, 'NATTER_APNS_ENDPOINT', 'https://api.push.apple.com', ['https', 'http']),
    ca: optionalText(env, 'NATTER_PUSH_CA'),
  };
  const account = s.fcmAccount ? serviceAccount(s.fcmAccount) : undefined;
  return {
    collapseMs: int(env, 'NATTER_PUSH_COLLAPSE_MS', 30_000),
    includeContent: bool(env, 'NATTER_PUSH_INCLUDE_CONTENT', false),
    maxAttempts: int(env, 'NATTER_PUSH_MAX_ATTEMPTS', 4, { min: 1 }),
    retryBaseMs: int(env, 'NATTER_PUSH_RETRY_BASE_MS', 500),
    maxAgeMs: int(env, 'NATTER_PUSH_MAX_AGE_MS', 10 * 60_000),
    ca: s.ca ? readKey('NATTER_PUSH_CA', s.ca) : undefined,
    webpush:
      s.vapidPublic && s.vapidPrivate
        ? { publicKey: s.vapidPublic, privateKey: s.vapidPrivate, subject: s.vapidSubject, allowedHosts: s.webpushHosts }
        : undefined,
    fcm: account
      ? { serviceAccount: account, endpoint: trimSlash(s.fcmEndpoint), tokenUrl: s.fcmTokenUrl || account.token_uri || 'https://oauth2.googleapis.com/token' }
      : undefined,
    apns:
      s.apnsKey && s.apnsKeyId && s.apnsTeamId && s.apnsTopic
        ? { key: readKey('NATTER_APNS_KEY', s.apnsKey), keyId: s.apnsKeyId, teamId: s.apnsTeamId, topic: s.apnsTopic, endpoint: trimSlash(s.apnsEndpoint) }
        : undefined,
  };
};
