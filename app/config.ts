import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAX_CONTENT_LENGTH } from '../contracts/primitives.ts';
import { contentConfig, type ContentConfig } from './config/content.ts';
import { pushConfig, readKey, type PushConfig } from './config/push.ts';
import { tracingConfig, type TracingConfig } from './config/tracing.ts';
import { ConfigError, bool, int, isLoopback, list, matching, oneOf, optionalBool, optionalText, text, url, type Env } from './config/validate.ts';

export { ConfigError } from './config/validate.ts';
export type { PushConfig } from './config/push.ts';

export type JwtKeys = { algorithm: 'HS256'; secret: string } | { algorithm: 'RS256' | 'ES256'; publicKey: string; privateKey?: string };

export type Config = {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  jwt: JwtKeys;
  devTokens: boolean;
  tokenTtlSeconds: number;
  /** What every token must satisfy beyond its signature (README "Tokens"). */
  tokens: TokenRules;
  maxGroupMembers: number;
  maxFrameBytes: number;
  maxBodyBytes: number;
  /** Bytes one socket may keep queued for `slowConsumerGraceMs` (4× at any time) before it is cut off as a slow consumer. */
  maxSocketBufferBytes: number;
  slowConsumerGraceMs: number;
  /** How long a new socket's live messages wait for its first frame, a sync (gateway/connection.ts). */
  connectHoldMs: number;
  statusFanoutMaxMembers: number;
  maxMessageChars: number;
  /** How long after sending the author may edit a message. */
  editWindowSeconds: number;
  /** A hot conversation's sends, whoever sends: sustained rate and burst (token bucket). */
  conversationMessagesPerSecond: number;
  conversationBurst: number;
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
  /** Message content at rest and retention (app/config/content.ts). */
  content: ContentConfig;
  /** OpenTelemetry tracing, off by default (app/config/tracing.ts). */
  tracing: TracingConfig;
};

/**
 * Every token carries `exp`, lives at most `maxLifetimeSeconds`, and names the issuer and audience
 * when they are set. A socket gets `token_expiring` `expiringNoticeMs` before its token's exp.
 */
export type TokenRules = { maxLifetimeSeconds: number; issuer: string | undefined; audience: string | undefined; expiringNoticeMs: number };

/** An S3-compatible bucket for media; when set, it replaces the local media directory. */
export type S3Config = { bucket: string; region: string; endpoint: string | undefined; forcePathStyle: boolean; prefix: string };

/**
 * Without configured keys the embedded profile makes an HS256 secret once and keeps it in the data
 * directory, so tokens survive restarts.
 */
const jwtKeys = (env: Env, dataDir: string): JwtKeys => {
  const publicKey = optionalText(env, 'NATTER_JWT_PUBLIC_KEY');
  const algorithm = oneOf(env, 'NATTER_JWT_ALGORITHM', ['RS256', 'ES256'], 'RS256');
  const privateKey = optionalText(env, 'NATTER_JWT_PRIVATE_KEY');
  const secret = optionalText(env, 'NATTER_JWT_SECRET');
  if (publicKey) {
    return {
      algorithm,
      publicKey: readKey('NATTER_JWT_PUBLIC_KEY', publicKey),
      ...(privateKey ? { privateKey: readKey('NATTER_JWT_PRIVATE_KEY', privateKey) } : {}),
    };
  }
  if (secret) {
    if (secret.length < 32) throw new ConfigError('NATTER_JWT_SECRET must be at least 32 characters');
    return { algorithm: 'HS256', secret };
  }
  const file = join(dataDir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return { algorithm: 'HS256', secret: readFileSync(file, 'utf8').trim() };
};

const tokenRules = (env: Env): TokenRules => ({
  // A day: a stolen token is good for at most that long, and a socket renews with `reauth` meanwhile.
  maxLifetimeSeconds: int(env, 'NATTER_JWT_MAX_LIFETIME_SECONDS', 24 * 3600, { min: 1 }),
  issuer: optionalText(env, 'NATTER_JWT_ISSUER')?.trim(),
  audience: optionalText(env, 'NATTER_JWT_AUDIENCE')?.trim(),
  expiringNoticeMs: int(env, 'NATTER_TOKEN_EXPIRING_NOTICE_MS', 60_000),
});

/** `embedded` for `natter serve` (and its replay, stream and drain); `cluster` for every cluster role. */
export type Profile = 'embedded' | 'cluster';

/**
 * Dev tokens let anyone be anyone. Set explicitly, NATTER_DEV_TOKENS wins. Otherwise the cluster
 * keeps them off, and the embedded profile turns them on only where no one else can reach it: on
 * another address it refuses to guess, since either guess is wrong for someone (a LAN demo locked
 * out, or a server anyone can sign in to as anyone).
 */
const devTokens = (env: Env, profile: Profile, host: string): boolean => {
  const explicit = optionalBool(env, 'NATTER_DEV_TOKENS');
  if (explicit !== undefined) return explicit;
  if (profile === 'cluster') return false;
  if (isLoopback(host)) return true;
  throw new ConfigError(
    `NATTER_HOST=${host} is not loopback: set NATTER_DEV_TOKENS=false for production, or NATTER_DEV_TOKENS=true to allow anyone to mint tokens`,
  );
};

export const loadConfig = (env: Env = process.env, profile: Profile = 'embedded'): Config => {
  const dataDir = resolve(text(env, 'NATTER_DATA_DIR', './data'));
  const host = matching(env, 'NATTER_HOST', '127.0.0.1', /^\S+$/, 'a host name or IP address');
  const dev = devTokens(env, profile, host);
  const corsOrigins = list(env, 'NATTER_CORS_ORIGINS', []);
  const tokenTtlSeconds = int(env, 'NATTER_TOKEN_TTL_SECONDS', 24 * 3600, { min: 1 });
  const tokens = tokenRules(env);
  // Dev tokens longer than the server accepts would be refused the moment they are issued.
  if (tokenTtlSeconds > tokens.maxLifetimeSeconds) {
    throw new ConfigError(`NATTER_TOKEN_TTL_SECONDS (${tokenTtlSeconds}) must not exceed NATTER_JWT_MAX_LIFETIME_SECONDS (${tokens.maxLifetimeSeconds})`);
  }
  const s3 = {
    bucket: optionalText(env, 'NATTER_S3_BUCKET'),
    region: text(env, 'NATTER_S3_REGION', 'us-east-1'),
    endpoint: url(env, 'NATTER_S3_ENDPOINT', '', ['https', 'http']),
    // Read as is: an empty prefix (none) is a real choice here.
    prefix: env.NATTER_S3_PREFIX ?? 'media/',
  };
  return {
    host,
    port: int(env, 'NATTER_PORT', 3000, { max: 65_535 }),
    dataDir,
    logLevel: oneOf(env, 'NATTER_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    jwt: jwtKeys(env, dataDir),
    content: contentConfig(env, dataDir, profile === 'cluster'),
    devTokens: dev,
    tokenTtlSeconds,
    tokens,
    maxGroupMembers: int(env, 'NATTER_MAX_GROUP_MEMBERS', 1000, { min: 1 }),
    maxFrameBytes: int(env, 'NATTER_MAX_FRAME_BYTES', 64 * 1024, { min: 1 }),
    maxBodyBytes: int(env, 'NATTER_MAX_BODY_BYTES', 1024 * 1024, { min: 1 }),
    maxSocketBufferBytes: int(env, 'NATTER_MAX_SOCKET_BUFFER_BYTES', 4 * 1024 * 1024, { min: 1 }),
    slowConsumerGraceMs: int(env, 'NATTER_SLOW_CONSUMER_GRACE_MS', 5_000),
    // Only the cluster's projectors deliver, late, what was appended before a socket registered.
    connectHoldMs: int(env, 'NATTER_CONNECT_HOLD_MS', profile === 'cluster' ? 500 : 0),
    statusFanoutMaxMembers: int(env, 'NATTER_STATUS_FANOUT_MAX_MEMBERS', 256),
    maxMessageChars: int(env, 'NATTER_MAX_MESSAGE_CHARS', MAX_CONTENT_LENGTH, { min: 1, max: MAX_CONTENT_LENGTH }),
    editWindowSeconds: int(env, 'NATTER_EDIT_WINDOW_SECONDS', 24 * 3600),
    conversationMessagesPerSecond: int(env, 'NATTER_CONVERSATION_MESSAGES_PER_SECOND', 100, { min: 1 }),
    conversationBurst: int(env, 'NATTER_CONVERSATION_BURST', 200, { min: 1 }),
    maxSocketsPerUser: int(env, 'NATTER_MAX_SOCKETS_PER_USER', 10, { min: 1 }),
    http: {
      connectionTimeoutMs: int(env, 'NATTER_CONNECTION_TIMEOUT_MS', 60_000),
      requestTimeoutMs: int(env, 'NATTER_REQUEST_TIMEOUT_MS', 120_000),
      keepAliveTimeoutMs: int(env, 'NATTER_KEEP_ALIVE_TIMEOUT_MS', 72_000),
    },
    // The dev profile lets a web client on a local dev server in (dev tokens already let anyone be anyone).
    corsOrigins: corsOrigins.length > 0 ? corsOrigins : dev ? 'localhost' : [],
    messagesPerMinute: int(env, 'NATTER_MESSAGES_PER_MINUTE', 100, { min: 1 }),
    ephemeralPerSecond: int(env, 'NATTER_EPHEMERAL_PER_SECOND', 20, { min: 1 }),
    heartbeatIntervalMs: int(env, 'NATTER_HEARTBEAT_INTERVAL_MS', 30_000, { min: 1 }),
    presenceTtlMs: int(env, 'NATTER_PRESENCE_TTL_MS', 60_000, { min: 1 }),
    presenceThrottleMs: int(env, 'NATTER_PRESENCE_THROTTLE_MS', 2_000),
    presenceMaxGroupMembers: int(env, 'NATTER_PRESENCE_MAX_GROUP_MEMBERS', 100),
    typingTtlMs: int(env, 'NATTER_TYPING_TTL_MS', 6_000, { min: 1 }),
    typingThrottleMs: int(env, 'NATTER_TYPING_THROTTLE_MS', 2_000),
    drainTimeoutMs: int(env, 'NATTER_DRAIN_TIMEOUT_MS', 30_000),
    drainJitterMs: int(env, 'NATTER_DRAIN_JITTER_MS', 5_000),
    push: pushConfig(env),
    media: {
      maxBytes: int(env, 'NATTER_MAX_MEDIA_BYTES', 100 * 1024 * 1024, { min: 1 }),
      // In the cluster, a directory every gateway shares (when S3 is not configured).
      dir: resolve(text(env, 'NATTER_MEDIA_DIR', join(dataDir, 'media'))),
      s3: s3.bucket
        ? {
            bucket: s3.bucket,
            region: s3.region,
            endpoint: s3.endpoint || undefined,
            forcePathStyle: bool(env, 'NATTER_S3_FORCE_PATH_STYLE', Boolean(s3.endpoint)),
            prefix: s3.prefix,
          }
        : undefined,
    },
    tracing: tracingConfig(env),
    keys: {
      prekeysLowThreshold: int(env, 'NATTER_PREKEYS_LOW_THRESHOLD', 10),
      claimsPerMinute: int(env, 'NATTER_KEY_CLAIMS_PER_MINUTE', 120, { min: 1 }),
    },
  };
};

/** The command side's limits from configuration, the same for the embedded server and every gateway. */
export const commandLimits = (config: Config) => ({
  maxGroupMembers: config.maxGroupMembers,
  maxMessageChars: config.maxMessageChars,
  messageLimit: { capacity: config.messagesPerMinute, perSecond: config.messagesPerMinute / 60 },
  conversationLimit: { capacity: config.conversationBurst, perSecond: config.conversationMessagesPerSecond },
  editWindowMs: config.editWindowSeconds * 1000,
  retention: { defaultDays: config.content.retentionDays, dayMs: config.content.retentionDayMs },
});
