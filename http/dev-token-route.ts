import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DevTokenBody, DevTokenReply } from '../contracts/rest.ts';
import { NatterError } from '../contracts/errors.ts';
import type { Config } from '../app/config.ts';
import { signToken } from './auth.ts';

/** Anyone can be anyone: for development only, on by default in the embedded profile. */
export const devTokenRoute = async (app: FastifyInstance, { config }: { config: Config }) => {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/dev-token', {
    config: { public: true },
    schema: { body: DevTokenBody, response: { 200: DevTokenReply } },
  }, async (request) => {
    if (!config.devTokens) throw new NatterError('dev_tokens_disabled', 'dev tokens are disabled (NATTER_DEV_TOKENS=false)');
    if (config.jwt.algorithm !== 'HS256' && !config.jwt.privateKey) throw new NatterError('dev_tokens_disabled', 'dev tokens need a signing key');
    const token = signToken(app, config, request.body.user_id, request.body.device_id);
    return { token, user_id: request.body.user_id, expires_in: config.tokenTtlSeconds };
  });
};
