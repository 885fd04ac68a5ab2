import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { ContentCipher, ContentKeyStore, Opened } from '../../ports/content-keys.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The prefix of sealed text, so that text written before encryption existed is told apart. */
const SEALED_PREFIX = 'enc1|';
const PAYLOAD_PREFIX = 'enc1:';
export const isSealed = (text: string) => text.startsWith(SEALED_PREFIX);
const keyOfSealed = (sealed: string) => sealed.slice(SEALED_PREFIX.length, sealed.indexOf('|', SEALED_PREFIX.length));

/*
 * IVs are cut from a pool of random bytes, refilled 4 KiB at a time: one randomBytes() call per 341
 * seals instead of one per message (each call's fixed cost showed in the embedded server's CPU
 * profile). Each slice is handed out once and a refill takes a new buffer, so no IV repeats: GCM's one rule.
 */
const IV_POOL_BYTES = IV_BYTES * 341;
let ivPool = Buffer.alloc(0);
let ivTaken = 0;
const freshIv = (): Buffer => {
  if (ivTaken + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivTaken = 0;
  }
  const iv = ivPool.subarray(ivTaken, ivTaken + IV_BYTES);
  ivTaken += IV_BYTES;
  return iv;
};

/** AES-256-GCM with a fresh IV: `iv | ciphertext | tag`, base64url. */
const encrypt = (key: Buffer, text: string): string => {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return PAYLOAD_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
};

const decrypt = (key: Buffer, sealed: string): string => {
  const raw = Buffer.from(sealed.slice(PAYLOAD_PREFIX.length), 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
};

/** Data keys are wrapped (encrypted) by the master key: the key store alone reveals nothing. */
const wrap = (master: Buffer, key: Buffer) => Buffer.from(encrypt(master, key.toString('base64')).slice(PAYLOAD_PREFIX.length), 'base64url');
const unwrap = (master: Buffer, wrapped: Buffer) => Buffer.from(decrypt(master, PAYLOAD_PREFIX + wrapped.toString('base64url')), 'base64');

/** `<sender>/<conversation>/<YYYY-MM>`: a month of one sender's messages in one conversation. */
export const keyIdOf = (userId: string, conversationId: string, timestamp: number) =>
  `${userId}/${conversationId}/${new Date(timestamp).toISOString().slice(0, 7)}`;

export type ContentCipherOptions = {
  store: ContentKeyStore;
  /** 32 bytes (NATTER_MASTER_KEY). A real KMS would hold it and unwrap data keys for us. */
  masterKey: Buffer;
  /** Unwrapped keys kept in memory, most recently used. */
  cacheSize?: number;
  /**
   * How long a key stays cached: the bound on how long a process that missed the news of an erasure
   * (see ContentKeyStore.watchDestroyed) goes on opening the erased user's content.
   */
  ttlMs?: number;
};

/**
 * Seals and opens message content with per-sender, per-conversation, per-month data keys (AES-256-GCM).
 * Keys are created on first use and cached unwrapped (bounded); a destroyed key opens nothing ever again.
 */
export const createContentCipher = (options: ContentCipherOptions): ContentCipher => {
  if (options.masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  const cacheSize = options.cacheSize ?? 10_000;
  const ttlMs = options.ttlMs ?? 30_000;
  const cache = new Map<string, { key: Buffer; at: number }>();
  const remember = (keyId: string, key: Buffer) => {
    cache.delete(keyId);
    cache.set(keyId, { key, at: Date.now() });
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  };
  const cached = (keyId: string): Buffer | undefined => {
    const entry = cache.get(keyId);
    if (!entry) return undefined;
    if (Date.now() - entry.at <= ttlMs) return entry.key;
    cache.delete(keyId);
    return undefined;
  };
  const load = async (keyId: string): Promise<Buffer | 'destroyed' | null> => {
    const hit = cached(keyId);
    if (hit) return hit;
    const stored = await options.store.get(keyId);
    if (stored === null || stored === 'destroyed') return stored;
    const key = unwrap(options.masterKey, stored.wrapped);
    remember(keyId, key);
    return key;
  };

  const sealWith = (keyId: string, key: Buffer, text: string) => `${SEALED_PREFIX}${keyId}|${encrypt(key, text)}`;

  return {
    seal: async (owner, text) => {
      const keyId = keyIdOf(owner.user_id, owner.conversation_id, owner.timestamp);
      let key = cached(keyId);
      if (!key) {
        const fresh = randomBytes(32);
        const stored = await options.store.getOrCreate({ key_id: keyId, owner_id: owner.user_id, wrapped: wrap(options.masterKey, fresh) });
        key = unwrap(options.masterKey, stored.wrapped);
        remember(keyId, key);
      }
      return sealWith(keyId, key, text);
    },
    reseal: async (like, text) => {
      const keyId = keyOfSealed(like);
      const key = await load(keyId);
      if (!Buffer.isBuffer(key)) throw new Error(`no key ${keyId} to seal with`);
      return sealWith(keyId, key, text);
    },
    open: async (sealed): Promise<Opened> => {
      if (!isSealed(sealed)) return { ok: true, text: sealed };
      const key = await load(keyOfSealed(sealed));
      if (key === 'destroyed') return { ok: false, reason: 'erased' };
      if (key === null) return { ok: false, reason: 'missing' };
      return { ok: true, text: decrypt(key, sealed.slice(sealed.indexOf('|', SEALED_PREFIX.length) + 1)) };
    },
    forget: (ownerId) => {
      if (ownerId === undefined) return cache.clear();
      for (const keyId of [...cache.keys()]) if (keyId.startsWith(`${ownerId}/`)) cache.delete(keyId);
    },
  };
};
