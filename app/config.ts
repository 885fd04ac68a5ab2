import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAX_CONTENT_LENGTH } from '../contracts/primitives.ts';

export type JwtKeys =
  | { algorithm: 'HS256'; secret: string }
  | { algorithm: 'RS256' | 'ES256'; publicKey: string; privateKey?: string };

export type Config = {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  jwt: JwtKeys;
  devTokens: boolean;
  tokenTtlSeconds: number;
  maxGroupMembers: number;
  maxFrameBytes: number;
  maxBodyBytes: number;
  /** Bytes queued on one socket before it is cut off as a slow consumer. */
  maxSocketBufferBytes: number;
  statusFanoutMaxMembers: number;
  maxMessageChars: number;
  maxSocketsPerUser: number;
  /** HTTP timeouts against slow clients (slow-loris): idle socket, whole request (headers and body), idle keep-alive. 0 disables one. */
  http: { connectionTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  /**
   * Origins allowed by CORS: the configured list, or (with dev tokens on and nothing configured)
   * http://localhost:* and http://127.0.0.1:* for a web client on a dev server; otherwise none.
   */
  corsOrigins: string[] | 'localhost';
  /** Sends per user, across devices: a token bucket of `messagesPerMinute` refilled per minute. */
  messagesPerMinute: number;
  /** Typing, pings, receipts and syncs per user: a burst of 2 s worth, refilled per second. */
  ephemeralPerSecond: number;
  heartbeatIntervalMs: number;
  presenceTtlMs: number;
  presenceThrottleMs: number;
  presenceMaxGroupMembers: number;
  typingTtlMs: number;
  typingThrottleMs: number;
  drainTimeoutMs: number;
  drainJitterMs: number;
  /** Offline push (README "Offline push"). */
  push: PushConfig;
  /** Media uploads (README "Media"). */
  media: { maxBytes: number; dir: string; s3: S3Config | undefined };
  /** The end-to-end encryption key directory (README "End-to-end encryption key directory"). */
  keys: { prekeysLowThreshold: number; claimsPerMinute: number };
};

/** An S3-compatible bucket for media; when set, it replaces the local media directory. */
export type S3Config = { bucket: string; region: string; endpoint: string | undefined; forcePathStyle: boolean; prefix: string };

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
  fcm: { serviceAccount: { client_email: string; private_key: string; project_id: string; token_uri?: string }; endpoint: string; tokenUrl: string } | undefined;
  apns: { key: string; keyId: string; teamId: string; topic: string; endpoint: string } | undefined;
};

const list = (raw: string | undefined, fallback: string[]) => (raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : fallback);

/** Push providers are enabled by their settings; without any, the log provider prints what would be sent. */
const pushConfig = (env: NodeJS.ProcessEnv): PushConfig => {
  const serviceAccount = env.NATTER_FCM_SERVICE_ACCOUNT
    ? JSON.parse(env.NATTER_FCM_SERVICE_ACCOUNT.trim().startsWith('{') ? env.NATTER_FCM_SERVICE_ACCOUNT : readFileSync(env.NATTER_FCM_SERVICE_ACCOUNT, 'utf8')) as NonNullable<PushConfig['fcm']>['serviceAccount']
    : undefined;
  return {
    collapseMs: int(env, 'NATTER_PUSH_COLLAPSE_MS', 30_000),
    includeContent: bool(env, 'NATTER_PUSH_INCLUDE_CONTENT', false),
    maxAttempts: Math.max(1, int(env, 'NATTER_PUSH_MAX_ATTEMPTS', 4)),
    retryBaseMs: int(env, 'NATTER_PUSH_RETRY_BASE_MS', 500),
    maxAgeMs: int(env, 'NATTER_PUSH_MAX_AGE_MS', 10 * 60_000),
    ca: env.NATTER_PUSH_CA ? readKey(env.NATTER_PUSH_CA) : undefined,
    webpush: env.NATTER_VAPID_PUBLIC_KEY && env.NATTER_VAPID_PRIVATE_KEY ? {
      publicKey: env.NATTER_VAPID_PUBLIC_KEY, privateKey: env.NATTER_VAPID_PRIVATE_KEY,
      subject: env.NATTER_VAPID_SUBJECT ?? 'mailto:admin@localhost',
      allowedHosts: list(env.NATTER_WEBPUSH_ALLOWED_HOSTS, ['fcm.googleapis.com', '*.push.services.mozilla.com', '*.notify.windows.com', '*.push.apple.com']),
    } : undefined,
    fcm: serviceAccount ? {
      serviceAccount,
      endpoint: (env.NATTER_FCM_ENDPOINT ?? 'https://fcm.googleapis.com').replace(/\/$/, ''),
      tokenUrl: env.NATTER_FCM_TOKEN_URL ?? serviceAccount.token_uri ?? 'https://oauth2.googleapis.com/token',
    } : undefined,
    apns: env.NATTER_APNS_KEY && env.NATTER_APNS_KEY_ID && env.NATTER_APNS_TEAM_ID && env.NATTER_APNS_TOPIC ? {
      key: readKey(env.NATTER_APNS_KEY), keyId: env.NATTER_APNS_KEY_ID, teamId: env.NATTER_APNS_TEAM_ID, topic: env.NATTER_APNS_TOPIC,
      endpoint: (env.NATTER_APNS_ENDPOINT ?? 'https://api.push.apple.com').replace(/\/$/, ''),
    } : undefined,
  };
};

const int = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
};

const bool = (env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
};

const readKey = (value: string) => (value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8'));

/**
 * Without configured keys the embedded profile makes an HS256 secret once and keeps it in the data
 * directory, so tokens survive restarts.
 */
const jwtKeys = (env: NodeJS.ProcessEnv, dataDir: string): JwtKeys => {
  if (env.NATTER_JWT_PUBLIC_KEY) {
    const algorithm = (env.NATTER_JWT_ALGORITHM ?? 'RS256') as 'RS256' | 'ES256';
    if (algorithm !== 'RS256' && algorithm !== 'ES256') throw new Error('NATTER_JWT_ALGORITHM must be RS256 or ES256 with a public key');
    return { algorithm, publicKey: readKey(env.NATTER_JWT_PUBLIC_KEY), ...(env.NATTER_JWT_PRIVATE_KEY ? { privateKey: readKey(env.NATTER_JWT_PRIVATE_KEY) } : {}) };
  }
  if (env.NATTER_JWT_SECRET) {
    if (env.NATTER_JWT_SECRET.length < 32) throw new Error('NATTER_JWT_SECRET must be at least 32 characters');
    return { algorithm: 'HS256', secret: env.NATTER_JWT_SECRET };
  }
  const file = join(dataDir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return { algorithm: 'HS256', secret: readFileSync(file, 'utf8').trim() };
};

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const dataDir = resolve(env.NATTER_DATA_DIR ?? './data');
  return {
    host: env.HOST ?? '127.0.0.1',
    port: int(env, 'PORT', 3000),
    dataDir,
    logLevel: env.NATTER_LOG_LEVEL ?? 'info',
    jwt: jwtKeys(env, dataDir),
    devTokens: bool(env, 'NATTER_DEV_TOKENS', true),
    tokenTtlSeconds: int(env, 'NATTER_TOKEN_TTL_SECONDS', 24 * 3600),
    maxGroupMembers: int(env, 'NATTER_MAX_GROUP_MEMBERS', 1000),
    maxFrameBytes: int(env, 'NATTER_MAX_FRAME_BYTES', 64 * 1024),
    maxBodyBytes: int(env, 'NATTER_MAX_BODY_BYTES', 1024 * 1024),
    maxSocketBufferBytes: int(env, 'NATTER_MAX_SOCKET_BUFFER_BYTES', 4 * 1024 * 1024),
    statusFanoutMaxMembers: int(env, 'NATTER_STATUS_FANOUT_MAX_MEMBERS', 256),
    maxMessageChars: Math.min(MAX_CONTENT_LENGTH, int(env, 'NATTER_MAX_MESSAGE_CHARS', MAX_CONTENT_LENGTH)),
    maxSocketsPerUser: int(env, 'NATTER_MAX_SOCKETS_PER_USER', 10),
    http: {
      connectionTimeoutMs: int(env, 'NATTER_CONNECTION_TIMEOUT_MS', 60_000),
      requestTimeoutMs: int(env, 'NATTER_REQUEST_TIMEOUT_MS', 120_000),
      keepAliveTimeoutMs: int(env, 'NATTER_KEEP_ALIVE_TIMEOUT_MS', 72_000),
    },
    corsOrigins: env.NATTER_CORS_ORIGINS !== undefined && env.NATTER_CORS_ORIGINS.trim() !== ''
      ? list(env.NATTER_CORS_ORIGINS, [])
      : bool(env, 'NATTER_DEV_TOKENS', true) ? 'localhost' : [],
    messagesPerMinute: int(env, 'NATTER_MESSAGES_PER_MINUTE', 100),
    ephemeralPerSecond: int(env, 'NATTER_EPHEMERAL_PER_SECOND', 20),
    heartbeatIntervalMs: int(env, 'NATTER_HEARTBEAT_INTERVAL_MS', 30_000),
    presenceTtlMs: int(env, 'NATTER_PRESENCE_TTL_MS', 60_000),
    presenceThrottleMs: int(env, 'NATTER_PRESENCE_THROTTLE_MS', 2_000),
    presenceMaxGroupMembers: int(env, 'NATTER_PRESENCE_MAX_GROUP_MEMBERS', 100),
    typingTtlMs: int(env, 'NATTER_TYPING_TTL_MS', 6_000),
    typingThrottleMs: int(env, 'NATTER_TYPING_THROTTLE_MS', 2_000),
    drainTimeoutMs: int(env, 'NATTER_DRAIN_TIMEOUT_MS', 30_000),
    drainJitterMs: int(env, 'NATTER_DRAIN_JITTER_MS', 5_000),
    push: pushConfig(env),
    media: {
      maxBytes: int(env, 'NATTER_MAX_MEDIA_BYTES', 100 * 1024 * 1024),
      dir: resolve(env.NATTER_MEDIA_DIR ?? join(dataDir, 'media')),
      s3: env.NATTER_S3_BUCKET ? {
        bucket: env.NATTER_S3_BUCKET, region: env.NATTER_S3_REGION ?? 'us-east-1', endpoint: env.NATTER_S3_ENDPOINT || undefined,
        forcePathStyle: bool(env, 'NATTER_S3_FORCE_PATH_STYLE', Boolean(env.NATTER_S3_ENDPOINT)), prefix: env.NATTER_S3_PREFIX ?? 'media/',
      } : undefined,
    },
    keys: {
      prekeysLowThreshold: int(env, 'NATTER_PREKEYS_LOW_THRESHOLD', 10),
      claimsPerMinute: int(env, 'NATTER_KEY_CLAIMS_PER_MINUTE', 120),
    },
  };
};

/** The command side's limits from configuration, the same for the embedded server and every gateway. */
export const commandLimits = (config: Config) => ({
  maxGroupMembers: config.maxGroupMembers,
  maxMessageChars: config.maxMessageChars,
  messageLimit: { capacity: config.messagesPerMinute, perSecond: config.messagesPerMinute / 60 },
});
