import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { Compile } from 'typebox/compile';
import { NatterError } from '../contracts/errors.ts';
import { UserId, DeviceId } from '../contracts/primitives.ts';
import type { Actor } from '../command-side/actor.ts';
import type { Config } from '../app/config.ts';

declare module 'fastify' {
  /** When the request's token expires (epoch ms): a socket is closed then unless it sends `reauth`. */
  interface FastifyRequest {
    tokenExpiresAt: number;
  }
}

const validUserId = Compile(UserId);
const validDeviceId = Compile(DeviceId);

/** What a verified token says: who, on which device if it names one, and until when (epoch ms). */
export type VerifiedToken = { userId: string; deviceId: string | undefined; expiresAt: number };
export type VerifyToken = (token: string) => VerifiedToken;

const bearer = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  // Browsers cannot set headers on a WebSocket upgrade, so the socket also takes ?token=.
  if (request.routeOptions.url === '/v1/ws') return (request.query as { token?: string }).token;
  return undefined;
};

// fast-jwt's own words for a claim that is missing, mistyped or not allowed ("The aud claim value is
// not allowed."): they tell the holder what to fix and reveal nothing about the expected values.
const claimErrors = new Set(['FAST_JWT_MISSING_REQUIRED_CLAIM', 'FAST_JWT_INVALID_CLAIM_TYPE', 'FAST_JWT_INVALID_CLAIM_VALUE']);

const refusal = (error: unknown): string => {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'FAST_JWT_EXPIRED') return 'token expired';
  if (code && claimErrors.has(code) && message) return `invalid token: ${message}`;
  return 'invalid or expired token';
};

/**
 * Every /v1 route requires a valid token unless it is declared `config: { public: true }`, so a new
 * route is protected by default. Only the configured algorithm is accepted (no `alg: none`, no
 * HS/RS confusion), `sub` must be a valid user id, `exp` is required and at most
 * NATTER_JWT_MAX_LIFETIME_SECONDS away, and `iss` and `aud` must match when configured. Returns the
 * check itself, which the socket applies to a `reauth` token.
 */
export const registerAuth = async (
  app: FastifyInstance,
  config: Config,
  options: { isErased?(userId: string): Promise<boolean> } = {},
): Promise<VerifyToken> => {
  const keys = config.jwt;
  const { issuer, audience, maxLifetimeSeconds } = config.tokens;
  // fast-jwt skips an iss or aud check when the claim is absent, unless the claim is required.
  const verify = {
    requiredClaims: ['exp', ...(issuer ? ['iss'] : []), ...(audience ? ['aud'] : [])],
    ...(issuer ? { allowedIss: issuer } : {}),
    ...(audience ? { allowedAud: audience } : {}),
  };
  const sign = { ...(issuer ? { iss: issuer } : {}), ...(audience ? { aud: audience } : {}) };
  await app.register(
    fastifyJwt,
    keys.algorithm === 'HS256'
      ? { secret: keys.secret, sign: { algorithm: 'HS256', ...sign }, verify: { algorithms: ['HS256'], ...verify } }
      : {
          secret: { public: keys.publicKey, private: keys.privateKey ?? '' },
          sign: { algorithm: keys.algorithm, ...sign },
          verify: { algorithms: [keys.algorithm], ...verify },
        },
  );

  const verifyToken: VerifyToken = (token) => {
    let claims: { sub?: unknown; device_id?: unknown; exp?: unknown; iat?: unknown };
    try {
      claims = app.jwt.verify(token);
    } catch (error) {
      throw new NatterError('unauthorized', refusal(error));
    }
    if (typeof claims.sub !== 'string' || !validUserId.Check(claims.sub)) throw new NatterError('unauthorized', 'token has no valid sub');
    // fast-jwt has checked that exp is a number in the future.
    const exp = claims.exp as number;
    // Counted from iat, or from now when iat is absent or in the future: a far-off iat must not
    // stretch a token past the maximum.
    const now = Date.now() / 1000;
    const from = typeof claims.iat === 'number' ? Math.min(claims.iat, now) : now;
    if (exp - from > maxLifetimeSeconds) throw new NatterError('unauthorized', `token lifetime exceeds ${maxLifetimeSeconds} s`);
    return { userId: claims.sub, deviceId: typeof claims.device_id === 'string' ? claims.device_id : undefined, expiresAt: exp * 1000 };
  };

  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('tokenExpiresAt', 0);
  app.addHook('onRequest', async (request) => {
    // Decided on the matched route, not on the raw URL: the router decodes the path, so a URL such
    // as /%761/conversations reaches the /v1/conversations handler without starting with "/v1/".
    const route = request.routeOptions.url;
    if (!(route ?? request.url).startsWith('/v1/') || request.routeOptions.config?.public) return;
    const token = bearer(request);
    if (!token) throw new NatterError('unauthorized', 'missing bearer token');
    const verified = verifyToken(token);
    const fromQuery = (request.query as { device_id?: unknown }).device_id;
    const device = typeof fromQuery === 'string' ? fromQuery : (verified.deviceId ?? 'default');
    if (!validDeviceId.Check(device)) throw new NatterError('invalid_request', 'device_id must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}');
    // An erased user's tokens stop working, however long they had left.
    if (await options.isErased?.(verified.userId)) throw new NatterError('unauthorized', 'this account was erased');
    request.actor = { user_id: verified.userId, device_id: device };
    request.tokenExpiresAt = verified.expiresAt;
  });
  return verifyToken;
};

/** Dev tokens carry exp, and iss and aud when configured, so that they pass the checks above. */
export const signToken = (app: FastifyInstance, config: Config, userId: string, deviceId?: string) =>
  app.jwt.sign({ sub: userId, ...(deviceId ? { device_id: deviceId } : {}) }, { expiresIn: config.tokenTtlSeconds });
