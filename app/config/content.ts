import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bool, ConfigError, int, optionalText, type Env } from './validate.ts';

/** Message content at rest (crypto-shredding) and how long messages are kept. */
export type ContentConfig = {
  /** Seal message content in the log (NATTER_CONTENT_ENCRYPTION); off only to measure what it costs: erasure needs it. */
  encryption: boolean;
  /** Wraps every data key (NATTER_MASTER_KEY). */
  masterKey: Buffer;
  /** Unwrapped data keys kept in memory per process. */
  keyCacheSize: number;
  /** Server-wide retention in days, or null: keep forever. A conversation's admins may choose otherwise. */
  retentionDays: number | null;
  /** How often expiry is decided (each conversation's owner appends MessagesExpired when due). */
  retentionSweepMs: number;
  /** The length of a retention day: 86,400,000 ms, shorter only in tests (NATTER_RETENTION_DAY_MS). */
  retentionDayMs: number;
};

const parseKey = (value: string): Buffer => {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) throw new ConfigError('NATTER_MASTER_KEY must be 32 bytes, as 64 hex digits or base64');
  return key;
};

/**
 * The master key: NATTER_MASTER_KEY, or (embedded only) one made once into the data directory. The
 * cluster's processes must share one, so there it has to be given. Rotation and a KMS: README "Erasure".
 */
const masterKey = (env: Env, dataDir: string, cluster: boolean): Buffer => {
  const given = optionalText(env, 'NATTER_MASTER_KEY');
  if (given) return parseKey(given);
  if (cluster) throw new ConfigError('NATTER_MASTER_KEY is required in the cluster profile (32 bytes, hex or base64): every process must share it');
  const file = join(dataDir, 'master-key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return parseKey(readFileSync(file, 'utf8').trim());
};

export const contentConfig = (env: Env, dataDir: string, cluster: boolean): ContentConfig => {
  const days = int(env, 'NATTER_RETENTION_DAYS', 0);
  return {
    encryption: bool(env, 'NATTER_CONTENT_ENCRYPTION', true),
    masterKey: masterKey(env, dataDir, cluster),
    keyCacheSize: int(env, 'NATTER_CONTENT_KEY_CACHE', 10_000, { min: 1 }),
    retentionDays: days === 0 ? null : days,
    retentionSweepMs: int(env, 'NATTER_RETENTION_SWEEP_MS', 60_000, { min: 100 }),
    retentionDayMs: int(env, 'NATTER_RETENTION_DAY_MS', 86_400_000, { min: 1 }),
  };
};
