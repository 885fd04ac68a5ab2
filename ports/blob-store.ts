import type { Readable } from 'node:stream';

/** An inclusive byte range, as in `Range: bytes=start-end`. */
export type ByteRange = { start: number; end: number };

/**
 * Where media bytes live: the local filesystem in the embedded profile, an S3-compatible bucket in
 * the cluster profile. Keys are chosen by the server, never by clients.
 */
export interface BlobStore {
  /** Streams `body` into `key`; resolves with the stored size once it is durable. Fails (and stores nothing) if `body` fails. */
  put(key: string, body: Readable, options: { contentType: string }): Promise<{ size: number }>;
  /** The whole object, or one range of it; null when the key does not exist. */
  get(key: string, range?: ByteRange): Promise<Readable | null>;
  delete(key: string): Promise<void>;
}
