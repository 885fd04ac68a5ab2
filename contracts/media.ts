import { Type, type Static } from 'typebox';

const strict = { additionalProperties: false } as const;

export const MediaId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const MediaParams = Type.Object({ id: MediaId });

/** `POST /v1/media`'s body, for the documents only: the multipart parser reads it, not a JSON validator. */
export const MediaUploadForm = Type.Object(
  {
    file: Type.String({
      contentMediaType: 'application/octet-stream',
      description:
        "one file part: an image, video, audio or PDF file, recognized by its magic bytes (the part's own Content-Type is ignored); at most NATTER_MAX_MEDIA_BYTES",
    }),
  },
  { required: ['file'] },
);

/** The bytes of stored media, in each content type an upload may have. */
export const mediaBytes = (description: string) => ({
  description,
  content: Object.fromEntries([...ALLOWED_MEDIA_TYPES].map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
});

/** What the upload answers; `url` is a path on this server (GET it with the bearer token). */
export const MediaReply = Type.Object({
  media_id: MediaId,
  url: Type.String(),
  content_type: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  /** A small WebP (or JPEG) preview as a data: URL, under 10 KB, for images only. */
  thumbnail: Type.Optional(Type.String()),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
});
export type MediaReply = Static<typeof MediaReply>;

export const MAX_CAPTION_LENGTH = 1_000;

/**
 * The `content` of a `content_type: "media"` message, as a client sends it: JSON naming media the
 * sender uploaded, with an optional caption. The upload reply's other fields may be echoed back;
 * they are replaced by the server's own record, so a message never lies about its media.
 */
export const MediaMessageInput = Type.Object(
  {
    media_id: MediaId,
    caption: Type.Optional(Type.String({ maxLength: MAX_CAPTION_LENGTH })),
    url: Type.Optional(Type.String()),
    content_type: Type.Optional(Type.String()),
    size: Type.Optional(Type.Integer()),
    thumbnail: Type.Optional(Type.String()),
    width: Type.Optional(Type.Integer()),
    height: Type.Optional(Type.Integer()),
  },
  strict,
);
export type MediaMessageInput = Static<typeof MediaMessageInput>;

/** The `content` of a media message as stored and delivered: the upload reply plus the caption. */
export const MediaMessageContent = Type.Object({
  media_id: MediaId,
  url: Type.String(),
  content_type: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  thumbnail: Type.Optional(Type.String()),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  caption: Type.Optional(Type.String({ maxLength: MAX_CAPTION_LENGTH })),
});
export type MediaMessageContent = Static<typeof MediaMessageContent>;

/** Formats accepted by magic bytes (never by the client's Content-Type). */
export const ALLOWED_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/heic',
  'image/heif',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'video/x-matroska',
  'video/3gpp',
  'audio/mpeg',
  'audio/ogg',
  'audio/opus',
  'audio/wav',
  'audio/x-wav',
  'audio/webm',
  'audio/aac',
  'audio/mp4',
  'audio/x-m4a',
  'audio/flac',
  'audio/x-flac',
  'audio/amr',
  'application/pdf',
]);

/** Reads the media id of a stored media message's content; null when it is not one. */
export const mediaIdOf = (content: string): string | null => {
  try {
    const parsed = JSON.parse(content) as { media_id?: unknown };
    return typeof parsed.media_id === 'string' ? parsed.media_id : null;
  } catch {
    return null;
  }
};
