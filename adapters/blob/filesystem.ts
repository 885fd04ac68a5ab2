import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { BlobStore } from '../../ports/blob-store.ts';

/**
 * Blobs as files under `root` (NATTER_DATA_DIR/media), fanned out by a two-character prefix. A put
 * writes a temporary file, fsyncs it and renames it into place, so a reader never sees half a file.
 */
export const createFilesystemBlobStore = (root: string): BlobStore => {
  const base = resolve(root);
  const pathOf = (key: string) => {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_./-]*$/.test(key) || key.includes('..')) throw new Error(`bad blob key ${key}`);
    const path = resolve(base, key.slice(0, 2), key);
    if (!path.startsWith(base + sep)) throw new Error(`bad blob key ${key}`);
    return path;
  };
  return {
    put: async (key, body) => {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const temp = join(dirname(path), `.${key.replaceAll('/', '_')}.${process.pid}.${Date.now()}.part`);
      let size = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await pipeline(body, count, createWriteStream(temp, { flags: 'wx' }));
        const handle = await open(temp, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      return { size };
    },
    get: async (key, range) => {
      const path = pathOf(key);
      try {
        await stat(path);
      } catch {
        return null;
      }
      return createReadStream(path, range ? { start: range.start, end: range.end } : {}) as Readable;
    },
    delete: async (key) => {
      await rm(pathOf(key), { force: true });
    },
  };
};
