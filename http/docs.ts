import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { clientFrames, serverFrames } from '../contracts/frames.ts';
import { ErrorBody } from '../contracts/rest.ts';
import { closeCodes } from '../contracts/close-codes.ts';
import packageJson from '../package.json' with { type: 'json' };

// Both documents are generated from the TypeBox schemas the server validates with, so they cannot
// describe another API than the one that runs. `npm run docs` writes them to docs/ and a test
// fails when the checked-in copies drift from what the server serves.

declare module 'fastify' {
  /** A body the route parses itself (multipart), described in the OpenAPI document only: no JSON validator sees it. */
  interface FastifyContextConfig {
    multipartBody?: TSchema;
  }
}

const description = 'Every REST route of Natter. The WebSocket frames on /v1/ws are described by the AsyncAPI document at /asyncapi.json.';

/** A schema as plain JSON: TypeBox keeps its own bookkeeping under symbol keys, which JSON drops. */
const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema));

/**
 * AsyncAPI 3.0 for the socket, seen from the server: the frames a client sends are what the server
 * receives on its one channel, and the frames it pushes are what it sends.
 */
export const asyncApiDocument = () => {
  const directions = [
    { side: 'client', action: 'receive', frames: clientFrames },
    { side: 'server', action: 'send', frames: serverFrames },
  ] as const;
  const messages: Record<string, unknown> = {};
  const channelMessages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const { side, action, frames } of directions) {
    for (const [type, schema] of Object.entries(frames)) {
      const key = `${side}_${type}`;
      messages[key] = {
        name: type,
        title: `${type} (${side} → ${side === 'client' ? 'server' : 'client'})`,
        contentType: 'application/json',
        payload: plain(schema),
      };
      channelMessages[key] = { $ref: `#/components/messages/${key}` };
      operations[`${action}_${type}`] = { action, channel: { $ref: '#/channels/socket' }, messages: [{ $ref: `#/channels/socket/messages/${key}` }] };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Natter WebSocket API',
      version: packageJson.version,
      description: `JSON text frames on /v1/ws. After every (re)connect, send \`sync\` with the last cursor seen. Close codes: ${Object.entries(closeCodes)
        .map(([name, code]) => `${code} ${name}`)
        .join(', ')}.`,
    },
    servers: {
      local: {
        host: '127.0.0.1:3000',
        protocol: 'ws',
        description: 'the embedded profile on its default port',
        // Either one: the upgrade request is authenticated like a REST call (http/auth.ts).
        security: [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/tokenQuery' }],
      },
    },
    channels: {
      socket: {
        address: '/v1/ws',
        messages: channelMessages,
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                token: { type: 'string', description: 'the bearer token (browsers cannot set an Authorization header on an upgrade)' },
                device_id: { type: 'string', description: 'defaults to the token\'s device_id claim, else "default"' },
              },
            },
          },
        },
      },
    },
    operations,
    components: {
      messages,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "The bearer token (JWT) in the upgrade request's Authorization header." },
        tokenQuery: {
          type: 'httpApiKey',
          in: 'query',
          name: 'token',
          description: 'The same JWT as the `token` query parameter, for browsers, which cannot set headers on an upgrade.',
        },
      },
    },
  };
};

/** OpenAPI at /docs/json with Swagger UI at /docs, and AsyncAPI at /asyncapi.json. Register before the routes. */
export const registerDocs = async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Natter REST API', version: packageJson.version, description, license: { name: packageJson.license, identifier: packageJson.license } },
      servers: [{ url: 'http://127.0.0.1:3000', description: 'the embedded profile on its default port' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      // The socket is described by the AsyncAPI document; an upgrade is no REST operation.
      if (url === '/v1/ws') return { schema: { ...schema, hide: true }, url };
      const isPublic = Boolean((route.config as { public?: boolean } | undefined)?.public);
      const declared = (schema?.response ?? {}) as Record<string, unknown>;
      const multipart = (route.config as { multipartBody?: TSchema } | undefined)?.multipartBody;
      const documented = {
        ...schema,
        ...(isPublic ? { security: [] } : {}),
        ...(multipart ? { body: { content: { 'multipart/form-data': { schema: multipart } } } } : {}),
        // Every route answers its errors in one shape (http/errors.ts); only the docs need it spelled out.
        response: { ...declared, '4XX': ErrorBody, '5XX': ErrorBody },
      };
      return { schema: documented, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  const asyncApi = asyncApiDocument();
  app.get('/asyncapi.json', { schema: { hide: true } }, async () => asyncApi);
};
