/**
 * Key layout shared by the Redis read-model stores (documented in read-models.ts). Every key starts
 * with the namespace `<prefix>:`, then a store tag (`dir`, `ibx`, `rcpt`, `ckpt`), then a key family,
 * then the id. The family segment comes right after the store tag, so an id containing `:` can never
 * make two families collide, and `<prefix>:<store>:*` matches exactly one store's keys.
 */
export type StoreTag = 'dir' | 'ibx' | 'rcpt' | 'ckpt';

/** `natter` and `natter:` give the same namespace. */
export const namespace = (prefix: string) => (prefix.endsWith(':') ? prefix : `${prefix}:`);

export const storeBase = (prefix: string, store: StoreTag) => `${namespace(prefix)}${store}:`;

/** SCAN MATCH treats `*?[]\` as glob syntax: a prefix containing them must match only itself. */
export const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** Redis orders sorted-set members and SQLite orders TEXT by bytes (memcmp), not by UTF-16 units. */
export const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
