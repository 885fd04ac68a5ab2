import { S3Client, GetObjectCommand, DeleteObjectCommand, NoSuchKey, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Transform, type Readable } from 'node:stream';
import type { BlobStore } from '../../ports/blob-store.ts';

export type S3BlobOptions = {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, Ceph, a local test server); default AWS. */
  endpoint?: string | undefined;
  forcePathStyle?: boolean;
  /** Prepended to every key, e.g. "media/". */
  prefix?: string;
  /** Explicit credentials; default the SDK's chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
};

/**
 * Blobs in an S3-compatible bucket, for the cluster profile. Uploads stream through a multipart
 * upload (the size of a multipart form's file is unknown until its end), and reads ask S3 for the
 * requested range only.
 */
export const createS3BlobStore = (options: S3BlobOptions): BlobStore & { client: S3Client } => {
  const config: S3ClientConfig = {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.forcePathStyle ? { forcePathStyle: true } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  const client = new S3Client(config);
  const prefix = options.prefix ?? '';
  return {
    client,
    put: async (key, body, { contentType }) => {
      let size = 0;
      const counted = body.pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            size += chunk.length;
            done(null, chunk);
          },
        }),
      );
      body.once('error', (error) => counted.destroy(error));
      const upload = new Upload({
        client,
        params: { Bucket: options.bucket, Key: prefix + key, Body: counted, ContentType: contentType },
        queueSize: 2,
        partSize: 8 * 1024 * 1024,
        leavePartsOnError: false,
      });
      await upload.done();
      return { size };
    },
    get: async (key, range) => {
      try {
        const result = await client.send(
          new GetObjectCommand({
            Bucket: options.bucket,
            Key: prefix + key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
        return (result.Body as Readable | undefined) ?? null;
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return null;
        throw error;
      }
    },
    delete: async (key) => {
      await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: prefix + key }));
    },
  };
};
