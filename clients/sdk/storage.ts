/**
 * Where the client keeps its sync cursor and unacked sends, so that a restarted process or a
 * reloaded page resumes where it stopped. Either method may be asynchronous.
 */
export type NatterStorage = {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
};

/** The default: survives reconnects, not a restart. */
export const memoryStorage = (): NatterStorage => {
  const values = new Map<string, string>();
  return {
    get: (key) => values.get(key),
    set: (key, value) => {
      values.set(key, value);
    },
  };
};

/** A Web Storage (`localStorage`) under a prefix, so that several users or devices can share one origin. */
export const webStorage = (store: { getItem(key: string): string | null; setItem(key: string, value: string): void }, prefix: string): NatterStorage => ({
  get: (key) => store.getItem(`${prefix}${key}`),
  set: (key, value) => store.setItem(`${prefix}${key}`, value),
});
