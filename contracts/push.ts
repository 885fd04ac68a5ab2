import { Type, type Static } from 'typebox';
import { DeviceId, UserId, ConversationId, MessageId, Seq, Timestamp, ContentType, Content } from './primitives.ts';

const strict = { additionalProperties: false } as const;

export const PushPlatform = Type.Union([Type.Literal('fcm'), Type.Literal('apns'), Type.Literal('webpush')]);
export type PushPlatform = Static<typeof PushPlatform>;

const Base64Url = (minLength: number, maxLength: number, description: string) =>
  Type.String({ minLength, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$', description });

/** A browser's PushSubscription.toJSON(): where to POST, and the keys the payload is encrypted to (RFC 8291). */
export const WebPushSubscription = Type.Object({
  endpoint: Type.String({
    minLength: 9,
    maxLength: 2048,
    pattern: '^https://',
    description: 'https only; with Web Push configured, a host of a known push service (NATTER_WEBPUSH_ALLOWED_HOSTS), else 400 invalid_request',
  }),
  expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  keys: Type.Object({
    /** The user agent's P-256 public key, uncompressed (65 bytes), base64url. */
    p256dh: Base64Url(86, 90, 'the uncompressed P-256 public key: exactly 65 bytes, base64url (else 400 invalid_request)'),
    /** The 16-byte authentication secret, base64url. */
    auth: Base64Url(22, 24, 'the authentication secret: exactly 16 bytes, base64url (else 400 invalid_request)'),
  }),
});
export type WebPushSubscription = Static<typeof WebPushSubscription>;

export const RegisterPushBody = Type.Union([
  Type.Object({ platform: Type.Literal('fcm'), token: Type.String({ minLength: 1, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' }) }, strict),
  Type.Object({ platform: Type.Literal('apns'), token: Type.String({ minLength: 32, maxLength: 200, pattern: '^[0-9A-Fa-f]+$' }) }, strict),
  Type.Object({ platform: Type.Literal('webpush'), subscription: WebPushSubscription }, strict),
]);
export type RegisterPushBody = Static<typeof RegisterPushBody>;

export const DeviceParams = Type.Object({ device_id: DeviceId });

export const PushRegistrationReply = Type.Object({
  device_id: DeviceId,
  platform: PushPlatform,
  created_at: Type.Integer(),
});

/**
 * One member to push one message to (the push queue's record: in process, or the cluster's push
 * topic keyed by user). `content` is there only when pushes may show it (NATTER_PUSH_INCLUDE_CONTENT),
 * and never for ciphertext.
 */
export const PushRequest = Type.Object({
  user_id: UserId,
  conversation_id: ConversationId,
  message_id: MessageId,
  seq: Seq,
  sender_id: UserId,
  content_type: ContentType,
  timestamp: Timestamp,
  content: Type.Optional(Content),
  /** The message mentions this user ("alice mentioned you"). */
  mentioned: Type.Optional(Type.Boolean()),
});
export type PushRequest = Static<typeof PushRequest>;
