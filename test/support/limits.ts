/** Limits far above what a test sends, so that only the tests about limits meet them (they set their own). */
export const testLimits = {
  NATTER_MESSAGES_PER_MINUTE: '10000000',
  NATTER_EPHEMERAL_PER_SECOND: '1000000',
  NATTER_CONVERSATION_MESSAGES_PER_SECOND: '10000000',
  NATTER_CONVERSATION_BURST: '10000000',
};
