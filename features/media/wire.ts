import type { FastifyInstance } from 'fastify';
import type { Config } from '../../app/config.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { MediaStore } from '../../ports/media-store.ts';
import type { DirectoryStore } from '../../ports/read-models.ts';
import type { Commands } from '../../command-side/commands.ts';
import { mediaRoutes } from './routes.ts';
import { mediaSharesProjector } from './shares-projector.ts';
import { guardMediaContent } from './content-guard.ts';

/** Upload records and shares (SQLite embedded, PostgreSQL in the cluster) and the bytes (a directory or S3). */
export type MediaStores = { media: MediaStore; blobs: BlobStore };

/**
 * Media, from the stores a profile gives it: the upload and download routes, the projector that
 * records where each media was shared, and the rule that a media message names the sender's upload.
 */
export const wireMedia = (config: Config['media'], stores: MediaStores, shared: { directory: DirectoryStore }) => ({
  routes: async (app: FastifyInstance) => {
    await app.register(mediaRoutes, { blobs: stores.blobs, media: stores.media, directory: shared.directory, maxBytes: config.maxBytes });
  },
  projector: mediaSharesProjector(stores.media),
  guard: (commands: Commands): Commands => guardMediaContent(commands, { media: stores.media }),
});
