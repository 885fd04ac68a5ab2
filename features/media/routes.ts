import type { FastifyInstance } from 'fastify';
import type {} from '../../command-side/actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import sharp from 'sharp';
import { NatterError } from '../../contracts/errors.ts';
import { ALLOWED_MEDIA_TYPES, MediaParams, MediaReply, MediaUploadForm, mediaBytes } from '../../contracts/media.ts';
import type { BlobStore, ByteRange } from '../../ports/blob-store.ts';
import type { MediaRecord, MediaStore } from '../../ports/media-store.ts';
import type { DirectoryStore } from '../../ports/read-models.ts';
import { mediaUrl } from './content-guard.ts';

/** How long a refused download waits for the shares projection (attempts × step). */
const SHARE_WAIT_ATTEMPTS = 8;
const SHARE_WAIT_STEP_MS = 250;

export type MediaRouteDeps = {
  blobs: BlobStore;
  media: MediaStore;
  directory: DirectoryStore;
  maxBytes: number;
  clock?: () => number;
};

/** file-type needs at most this many leading bytes to recognize a format. */
const SNIFF_BYTES = 4100;
const THUMBNAIL_MAX_BYTES = 8 * 1024;
/** Larger images get no thumbnail rather than tie up memory decoding them. */
const THUMBNAIL_INPUT_MAX_BYTES = 50 * 1024 * 1024;

/** Reads the first bytes of a stream and returns them with a stream of the whole content (nothing is lost). */
const peek = async (stream: Readable, bytes: number): Promise<{ head: Buffer; whole: Readable }> => {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(chunks);
  const whole = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
    { objectMode: false },
  );
  return { head, whole };
};

const readAll = async (stream: Readable, limit: number): Promise<Buffer | null> => {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      stream.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
};

/** A WebP preview small enough to travel inside a message (< 10 KB), shrinking until it fits. */
export const makeThumbnail = async (image: Buffer): Promise<{ thumbnail: string | null; width: number | null; height: number | null }> => {
  try {
    const meta = await sharp(image, { limitInputPixels: 100_000_000 }).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const width = (swap ? meta.height : meta.width) ?? null;
    const height = (swap ? meta.width : meta.height) ?? null;
    for (const [edge, quality] of [
      [160, 60],
      [128, 50],
      [96, 40],
      [64, 30],
      [48, 20],
    ] as const) {
      const out = await sharp(image, { limitInputPixels: 100_000_000 })
        .rotate()
        .resize(edge, edge, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality, effort: 4 })
        .toBuffer();
      if (out.length <= THUMBNAIL_MAX_BYTES) return { thumbnail: `data:image/webp;base64,${out.toString('base64')}`, width, height };
    }
    return { thumbnail: null, width, height };
  } catch {
    return { thumbnail: null, width: null, height: null };
  }
};

/**
 * The multipart parser's refusals (no boundary, a broken part header, a body cut short) are the
 * client's mistake: 400, or 413 past a limit, never a 500.
 */
const malformed = (error: Error & { statusCode?: number }): never => {
  if (error instanceof NatterError) throw error;
  if (error.statusCode === 413) throw new NatterError('payload_too_large', error.message);
  throw new NatterError('invalid_request', `the multipart body is malformed: ${error.message}`);
};

/** `Range: bytes=a-b | a- | -n` (one range) → inclusive offsets; 'unsatisfiable'; or null to serve it whole. */
export const parseRange = (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null => {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null; // several ranges or garbage: the whole body (RFC 9110 allows ignoring Range)
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
};

/**
 * `POST /v1/media` streams one multipart file into the blob store, after checking its magic bytes;
 * `GET /v1/media/:id` serves it (with ranges) to its uploader and to members of the conversations
 * where it was shared, and answers 404 to everyone else.
 */
export const mediaRoutes = async (app: FastifyInstance, deps: MediaRouteDeps) => {
  const clock = deps.clock ?? Date.now;
  await app.register(multipart, { limits: { fileSize: deps.maxBytes, files: 1, fields: 10, parts: 12, fieldSize: 1024 } });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/v1/media',
    {
      schema: { operationId: 'uploadMedia', summary: 'Upload one file (multipart/form-data) to share in a media message', response: { 201: MediaReply } },
      config: { multipartBody: MediaUploadForm },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new NatterError('invalid_request', 'upload with Content-Type: multipart/form-data and one file part');
      const file = await request.file().catch(malformed);
      if (!file) throw new NatterError('invalid_request', 'the multipart body has no file part');
      const { head, whole } = await peek(file.file, SNIFF_BYTES).catch(malformed);
      const type = await fileTypeFromBuffer(head);
      if (!type || !ALLOWED_MEDIA_TYPES.has(type.mime)) {
        file.file.resume();
        throw new NatterError('unsupported_media_type', `${type ? type.mime : 'this format'} is not accepted; send an image, video, audio or PDF file`);
      }
      const mediaId = randomBytes(16).toString('base64url');
      let size: number;
      try {
        ({ size } = await deps.blobs.put(mediaId, whole, { contentType: type.mime }));
      } catch (error) {
        await deps.blobs.delete(mediaId).catch(() => {});
        if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' || file.file.truncated) {
          throw new NatterError('payload_too_large', `the file is over the ${deps.maxBytes}-byte limit`);
        }
        throw error;
      }
      if (file.file.truncated) {
        await deps.blobs.delete(mediaId);
        throw new NatterError('payload_too_large', `the file is over the ${deps.maxBytes}-byte limit`);
      }
      let preview: { thumbnail: string | null; width: number | null; height: number | null } = { thumbnail: null, width: null, height: null };
      if (type.mime.startsWith('image/') && size <= THUMBNAIL_INPUT_MAX_BYTES) {
        const stored = await deps.blobs.get(mediaId);
        const bytes = stored ? await readAll(stored, THUMBNAIL_INPUT_MAX_BYTES) : null;
        if (bytes) preview = await makeThumbnail(bytes);
      }
      const record: MediaRecord = {
        media_id: mediaId,
        owner_id: request.actor.user_id,
        content_type: type.mime,
        size,
        blob_key: mediaId,
        created_at: clock(),
        ...preview,
      };
      await deps.media.add(record);
      return reply.status(201).send({
        media_id: mediaId,
        url: mediaUrl(mediaId),
        content_type: type.mime,
        size,
        ...(preview.thumbnail ? { thumbnail: preview.thumbnail } : {}),
        ...(preview.width !== null ? { width: preview.width } : {}),
        ...(preview.height !== null ? { height: preview.height } : {}),
      });
    },
  );

  const sharedWith = async (record: MediaRecord, userId: string) => {
    for (const conversationId of await deps.media.sharedIn(record.media_id)) {
      if ((await deps.directory.members(conversationId)).includes(userId)) return true;
    }
    return false;
  };
  /**
   * Shares are a projection, and in the cluster the media message can reach a member (the fast path)
   * before it: a refusal is checked again for a moment before it is final.
   */
  const mayRead = async (record: MediaRecord, userId: string) => {
    if (record.owner_id === userId) return true;
    for (let attempt = 0; ; attempt++) {
      if (await sharedWith(record, userId)) return true;
      if (attempt === SHARE_WAIT_ATTEMPTS) return false;
      await new Promise((resolve) => setTimeout(resolve, SHARE_WAIT_STEP_MS));
    }
  };

  api.get(
    '/v1/media/:id',
    {
      schema: {
        operationId: 'getMedia',
        summary: 'Download media (Range requests supported), if you uploaded it or it was shared with you',
        params: MediaParams,
        response: {
          200: mediaBytes('The whole file, in the content type recognized at upload'),
          206: mediaBytes('The requested byte range (Content-Range says which)'),
        },
      },
    },
    async (request, reply) => {
      const record = await deps.media.get(request.params.id);
      // The same answer for "does not exist" and "not yours": ids cannot be probed.
      if (!record || !(await mayRead(record, request.actor.user_id))) throw new NatterError('media_not_found', `no media ${request.params.id}`);
      reply.header('accept-ranges', 'bytes');
      reply.header('etag', `"${record.media_id}"`);
      reply.header('cache-control', 'private, max-age=31536000, immutable');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-security-policy', "default-src 'none'; sandbox");
      const ifRange = request.headers['if-range'];
      const range = ifRange && ifRange !== `"${record.media_id}"` ? null : parseRange(request.headers.range, record.size);
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${record.size}`);
        throw new NatterError('range_not_satisfiable', `the range is outside the media's ${record.size} bytes`);
      }
      const body = await deps.blobs.get(record.blob_key, range ?? undefined);
      if (!body) throw new NatterError('media_not_found', `no media ${request.params.id}`);
      reply.type(record.content_type);
      if (range) {
        reply
          .status(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${record.size}`)
          .header('content-length', String(range.end - range.start + 1));
      } else {
        reply.status(200).header('content-length', String(record.size));
      }
      return reply.send(body);
    },
  );
};
