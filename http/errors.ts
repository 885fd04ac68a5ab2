import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NatterError, errorStatus, isNatterError, type ErrorCode } from '../contracts/errors.ts';
import { allowedMethods } from './route-table.ts';

export const errorBody = (code: ErrorCode, message: string) => ({ error: { code, message } });

/** Maps fastify's own failures onto the registry, so that every error has a stable code. */
const fromFastify = (error: FastifyError, request: FastifyRequest): NatterError | null => {
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    // A body-less request (an empty JSON body counts as none) to a route that takes one.
    if (where === 'body' && request.body === undefined) return new NatterError('invalid_request', 'this request needs a JSON body');
    return new NatterError('invalid_request', `${where}${error.message.startsWith(where) ? error.message.slice(where.length) : `: ${error.message}`}`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new NatterError('payload_too_large', 'request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new NatterError('unsupported_media_type', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new NatterError('invalid_json', 'the body is not valid JSON');
    case 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE':
      return new NatterError('invalid_request', 'a request with a body needs a Content-Type header');
  }
  if (error instanceof SyntaxError) return new NatterError('invalid_json', 'the body is not valid JSON');
  // Any other refusal of the framework keeps its status class; a 400 is never guessed to be bad JSON.
  if (error.statusCode === 400) return new NatterError('invalid_request', 'the request is malformed');
  if (error.statusCode === 413) return new NatterError('payload_too_large', 'request body too large');
  if (error.statusCode === 415) return new NatterError('unsupported_media_type', 'this Content-Type is not accepted here');
  return null;
};

/**
 * No route for this method and path: 405 with an Allow header when the path has routes for other
 * methods (an unknown method such as QUERY included), else 404.
 */
const noRoute = (request: FastifyRequest, reply: FastifyReply, app: FastifyInstance) => {
  const path = request.url.split('?')[0]!;
  const allowed = allowedMethods(app, path);
  if (allowed.length > 0) {
    return reply
      .status(405)
      .header('allow', allowed.join(', '))
      .send(errorBody('method_not_allowed', `${path} answers ${allowed.join(', ')}, not ${request.method}`));
  }
  return reply.status(404).send(errorBody('not_found', `no route ${request.method} ${path}`));
};

export const registerErrorHandling = (app: FastifyInstance, onError: (code: string) => void = () => {}) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // The body of a request that no route takes is not worth a verdict: the route is what is missing.
    // Our own refusals (a missing token) still come first.
    if (request.is404 && !isNatterError(error)) return noRoute(request, reply, app);
    const known = isNatterError(error) ? error : fromFastify(error, request);
    onError(known?.code ?? 'internal');
    if (!known) {
      request.log.error({ err: error }, 'unhandled error');
      return reply.status(500).send(errorBody('internal', 'internal error'));
    }
    if (known.code === 'rate_limited' && typeof known.details?.retry_after_ms === 'number') {
      reply.header('retry-after', Math.ceil(known.details.retry_after_ms / 1000));
    }
    return reply.status(errorStatus[known.code]).send(errorBody(known.code, known.message));
  });
  app.setNotFoundHandler((request, reply) => noRoute(request, reply, app));
};
