/**
 * Key layout shared by the Redis read-model stores (documented in read-models.ts). Every key starts
 * with the namespace `<prefix>:`, then, from version 2 on, the read model's version `v<N>:`, then a
 * store tag (`dir`, `ibx`, `rcpt`, `ckpt`), then a key family, then the id. The family segment comes
 * right after the store tag, so an id containing `:` can never make two families collide, and
 * `<base>*` matches exactly one version of one store. Version 1 is the unversioned layout that
 * existed before versions did, so data written before blue/green rebuilds stays readable as is.
 */
export type StoreTag = 'dir' | 'ibx' | 'rcpt' | 'ckpt' | 'usr';

/** The read model's version (blue/green rebuilds, see read-model-versions.ts); default 1, the unversioned keys. */
export type Versioned = { version?: number };

/** `natter` and `natter:` give the same namespace. */
export const namespace = (prefix: string) => (prefix.endsWith(':') ? prefix : `${prefix}:`);

export const storeBase = (prefix: string, store: StoreTag, version = 1) => {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`read-model version must be an integer >= 1, got ${version}`);
  return version === 1 ? `${namespace(prefix)}${store}:` : `${namespace(prefix)}v${version}:${store}:`;
};

/** SCAN MATCH treats `*?[]\` as glob syntax: a prefix containing them must match only itself. */
export const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** Redis orders sorted-set members and SQLite orders TEXT by bytes (memcmp), not by UTF-16 units. */
export const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
