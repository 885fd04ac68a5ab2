/**
 * Data keys of message content (crypto-shredding): one per sender, conversation and month, kept
 * outside the log, wrapped by the master key. Destroying a user's keys erases every copy of what
 * they wrote at once, in the log, in Kafka, in backups and in the read models that hold ciphertext.
 */
export type WrappedKey = { key_id: string; owner_id: string; wrapped: Buffer };

export interface ContentKeyStore {
  /** The key with this id, created from `wrapped` if there is none yet (the first writer wins). */
  getOrCreate(key: WrappedKey): Promise<WrappedKey>;
  /** `destroyed` when it was shredded (erasure, retention); null when it never existed (a lost key). */
  get(keyId: string): Promise<WrappedKey | 'destroyed' | null>;
  /** Shreds every key of the owner; returns how many. Their ids stay, marked destroyed. */
  destroyOwner(ownerId: string): Promise<number>;
  /**
   * Shared stores (the cluster's) tell every process whose keys were destroyed, so that caches drop
   * them at once; `undefined` means some news may have been missed (a lost connection): drop them all.
   */
  watchDestroyed?(onDestroyed: (ownerId: string | undefined) => void): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export type Opened = { ok: true; text: string } | { ok: false; reason: 'erased' | 'missing' };

/**
 * Sealed text names its key (`enc1|<key id>|<iv, ciphertext, tag>`), so the log and the read models
 * hold it as they hold text, and whoever has the key store can open it.
 */
export interface ContentCipher {
  seal(owner: { user_id: string; conversation_id: string; timestamp: number }, text: string): Promise<string>;
  /** Seals `text` with the key of `like` (a preview of a sealed message). */
  reseal(like: string, text: string): Promise<string>;
  /** Text that is not sealed (written before encryption) comes back as it is. */
  open(sealed: string): Promise<Opened>;
  /** Drops the owner's keys (every key without one) from the cache after they were destroyed in the store. */
  forget(ownerId?: string): void;
}

/**
 * What an opened event's data carries besides its fields (see adapters/crypto/sealed-events.ts):
 * `content` is the text again; `sealed` is what the log holds, for read models that store it sealed.
 */
export type OpenedContent = { sealed?: string; erased?: true; unavailable?: true };
