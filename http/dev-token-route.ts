import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DevTokenBody, DevTokenReply } from '../contracts/rest.ts';
import { NatterError } from '../contracts/errors.ts';
import type { Config } from '../app/config.ts';
import { signToken } from './auth.ts';

/** Anyone can be anyone: for development only, on by default only in the embedded profile on loopback (app/config.ts). */
export const devTokenRoute = async (app: FastifyInstance, { config }: { config: Config }) => {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/auth/dev-token',
    {
      config: { public: true },
      schema: {
        operationId: 'createDevToken',
        summary: 'A token for any user (development only; off unless NATTER_DEV_TOKENS allows it)',
        body: DevTokenBody,
        response: { 200: DevTokenReply },
      },
    },
    async (request) => {
      if (!config.devTokens) throw new NatterError('dev_tokens_disabled', 'dev tokens are off on this server (NATTER_DEV_TOKENS=true turns them on)');
      if (config.jwt.algorithm !== 'HS256' && !config.jwt.privateKey) throw new NatterError('dev_tokens_disabled', 'dev tokens need a signing key');
      const token = signToken(app, config, request.body.user_id, request.body.device_id);
      return { token, user_id: request.body.user_id, expires_in: config.tokenTtlSeconds };
    },
  );
};
