import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { packageRoot } from '../app/package-root.ts';

/** Where `npm install` (the `prepare` script) puts the built web client. */
export const webDist = join(packageRoot, 'clients', 'web', 'dist');

/**
 * Serves the web client at `/` when it has been built. Only the files present at start get routes
 * (no wildcard), so every other path keeps its own route or the API's JSON 404.
 */
export const registerWeb = async (app: FastifyInstance) => {
  if (!existsSync(webDist)) return;
  await app.register(fastifyStatic, { root: webDist, wildcard: false, decorateReply: false, index: ['index.html'] });
};
