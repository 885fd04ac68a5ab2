import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { Compile } from 'typebox/compile';
import { NatterError } from '../contracts/errors.ts';
import { UserId, DeviceId } from '../contracts/primitives.ts';
import type { Actor } from '../command-side/actor.ts';
import type { Config } from '../app/config.ts';

const validUserId = Compile(UserId);
const validDeviceId = Compile(DeviceId);

const bearer = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  // Browsers cannot set headers on a WebSocket upgrade, so the socket also takes ?token=.
  if (request.routeOptions.url === '/v1/ws') return (request.query as { token?: string }).token;
  return undefined;
};

/**
 * Every /v1 route requires a valid token unless it is declared `config: { public: true }`, so a new
 * route is protected by default. Only the configured algorithm is accepted (no `alg: none`, no
 * HS/RS confusion) and `sub` must be a valid user id.
 */
export const registerAuth = async (app: FastifyInstance, config: Config) => {
  const keys = config.jwt;
  await app.register(fastifyJwt, keys.algorithm === 'HS256'
    ? { secret: keys.secret, sign: { algorithm: 'HS256' }, verify: { algorithms: ['HS256'] } }
    : { secret: { public: keys.publicKey, private: keys.privateKey ?? '' }, sign: { algorithm: keys.algorithm }, verify: { algorithms: [keys.algorithm] } });

  app.decorateRequest('actor', null as unknown as Actor);
  app.addHook('onRequest', async (request) => {
    // Decided on the matched route, not on the raw URL: the router decodes the path, so a URL such
    // as /%761/conversations reaches the /v1/conversations handler without starting with "/v1/".
    const route = request.routeOptions.url;
    if (!(route ?? request.url).startsWith('/v1/') || request.routeOptions.config?.public) return;
    const token = bearer(request);
    if (!token) throw new NatterError('unauthorized', 'missing bearer token');
    let claims: { sub?: unknown; device_id?: unknown };
    try {
      claims = app.jwt.verify(token);
    } catch {
      throw new NatterError('unauthorized', 'invalid or expired token');
    }
    if (typeof claims.sub !== 'string' || !validUserId.Check(claims.sub)) throw new NatterError('unauthorized', 'token has no valid sub');
    const fromQuery = (request.query as { device_id?: unknown }).device_id;
    const device = typeof fromQuery === 'string' ? fromQuery : typeof claims.device_id === 'string' ? claims.device_id : 'default';
    if (!validDeviceId.Check(device)) throw new NatterError('invalid_request', 'device_id must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}');
    request.actor = { user_id: claims.sub, device_id: device };
  });
};

export const signToken = (app: FastifyInstance, config: Config, userId: string, deviceId?: string) =>
  app.jwt.sign({ sub: userId, ...(deviceId ? { device_id: deviceId } : {}) }, { expiresIn: config.tokenTtlSeconds });
