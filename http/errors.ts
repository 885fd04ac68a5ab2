import type { FastifyError, FastifyInstance } from 'fastify';
import { NatterError, errorStatus, isNatterError, type ErrorCode } from '../contracts/errors.ts';

export const errorBody = (code: ErrorCode, message: string) => ({ error: { code, message } });

/** Maps fastify's own failures onto the registry, so that every error has a stable code. */
const fromFastify = (error: FastifyError): NatterError | null => {
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    return new NatterError('invalid_request', `${where}${error.message.startsWith(where) ? error.message.slice(where.length) : `: ${error.message}`}`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new NatterError('payload_too_large', 'request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new NatterError('invalid_request', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new NatterError('invalid_json', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new NatterError('invalid_json', 'the body is not valid JSON');
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return new NatterError('invalid_json', 'the body is not valid JSON');
  return null;
};

export const registerErrorHandling = (app: FastifyInstance, onError: (code: string) => void = () => {}) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = isNatterError(error) ? error : fromFastify(error);
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
  app.setNotFoundHandler((request, reply) => reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));
};
