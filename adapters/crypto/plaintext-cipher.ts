import type { ContentCipher } from '../../ports/content-keys.ts';

/**
 * No sealing (NATTER_CONTENT_ENCRYPTION=off): what the benchmark compares encryption against. With
 * it the log holds content in the clear, so there is nothing to shred and erasure is refused.
 */
export const plaintextCipher: ContentCipher = {
  seal: async (_owner, text) => text,
  reseal: async (_like, text) => text,
  open: async (text) => ({ ok: true, text }),
  forget: () => {},
};
