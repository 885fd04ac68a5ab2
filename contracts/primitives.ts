import { Type, type Static } from 'typebox';

// Ids travel in URLs, stream names and log lines, so they are restricted to a safe alphabet.
export const UserId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@:-]*$' });
export type UserId = Static<typeof UserId>;

export const DeviceId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });
export const ConversationId = Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' });
export const ClientMsgId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });
export const MessageId = Type.String({ minLength: 1, maxLength: 64 });
export const Seq = Type.Integer({ minimum: 1 });
export const Watermark = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const Timestamp = Type.Integer({ minimum: 0, description: 'milliseconds since the Unix epoch' });
/** Opaque position in the global event log; clients store it and hand it back to `sync`. */
export const Cursor = Type.String({ pattern: '^[0-9]{1,16}$', description: 'opaque sync cursor' });
export const ContentType = Type.Union([Type.Literal('text'), Type.Literal('media'), Type.Literal('ciphertext')]);
export type ContentType = Static<typeof ContentType>;

export const MAX_CONTENT_LENGTH = 16_000;
export const Content = Type.String({ minLength: 1, maxLength: MAX_CONTENT_LENGTH });
/**
 * Content as a client sends it. No maxLength here: the limit (NATTER_MAX_MESSAGE_CHARS, at most
 * MAX_CONTENT_LENGTH code points) is the command side's, so that over-long content gets its own code
 * (413 `message_too_large`) instead of a generic schema refusal. The body and frame size limits
 * still bound it.
 */
export const ContentInput = Type.String({
  minLength: 1,
  description: `at most ${MAX_CONTENT_LENGTH.toLocaleString('en')} characters (code points; NATTER_MAX_MESSAGE_CHARS may set fewer): longer content is refused with 413 message_too_large. For content_type "media": the JSON {"media_id"} of media the sender uploaded (caption optional); "ciphertext": base64.`,
});
export const Title = Type.String({ minLength: 1, maxLength: 200 });
