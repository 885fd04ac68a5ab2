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
  };
};
