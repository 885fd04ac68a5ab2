import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import { LogController } from 'fastify';
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import { Ajv } from 'ajv';
import { isUtf8 } from 'node:buffer';
import type { Config } from '../app/config.ts';
import type { Metrics } from '../ports/metrics.ts';
import { NatterError } from '../contracts/errors.ts';
import { hasIllFormedString } from '../contracts/well-formed.ts';
import { errorBody, registerErrorHandling } from './errors.ts';

/**
 * The server options that only the Fastify constructor takes: body limit, quiet request logs, the
 * API's error shape for the router's own refusals, and timeouts against slow clients (slow-loris).
 */
export const httpServerOptions = (config: Config, metrics: Metrics, logger: FastifyBaseLogger): FastifyServerOptions => ({
  loggerInstance: logger,
  bodyLimit: config.maxBodyBytes,
  // Per-request logs would dominate a chat server's output; errors are still logged.
  logController: new LogController({ disableRequestLogging: true }),
  // The router's own refusals (a path parameter over 100 characters, bad percent-encoding) get the
  // API's error shape instead of fastify's, which echoes the whole URL.
  frameworkErrors: (error, _request, reply: FastifyReply) => {
    metrics.error('invalid_request');
    return reply
      .status(400)
      .send(errorBody('invalid_request', error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed'));
  },
  // Slow clients are cut off: an idle socket, a request (headers and body) that takes too long, an
  // idle keep-alive connection. Upgraded WebSockets leave these timers behind.
  connectionTimeout: config.http.connectionTimeoutMs,
  requestTimeout: config.http.requestTimeoutMs,
  keepAliveTimeout: config.http.keepAliveTimeoutMs,
  ...(config.http.requestTimeoutMs > 0
    ? {
        http: {
          headersTimeout: Math.min(60_000, config.http.requestTimeoutMs),
          // Node checks request and header deadlines on this interval (30 s by default).
          connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(config.http.requestTimeoutMs / 4))),
        },
      }
    : {}),
});

/**
 * Everything HTTP that is about hostile or broken clients rather than about chat: connections that
 * never speak, malformed requests, strict validation, UTF-8 bodies, security headers and CORS. Not
 * encapsulated (fastify-plugin), so it covers every route registered after it.
 */
export const httpHardening = fp(
  async (app: FastifyInstance, { config, metrics }: { config: Config; metrics: Metrics }) => {
    // A connection that never sends a byte escapes Node's header and request timeouts (and, once
    // those are set, its idle timeout too): it is cut off after the connection timeout. A socket
    // upgraded to a WebSocket has spoken: its timer and close listener go at the upgrade rather than
    // stay for as long as the socket lives (an idle socket should cost bytes).
    const silentMs = Math.min(...[config.http.connectionTimeoutMs, config.http.requestTimeoutMs].filter((ms) => ms > 0));
    if (Number.isFinite(silentMs)) {
      const watched = new WeakMap<import('node:net').Socket, { timer: NodeJS.Timeout; clear(): void }>();
      app.server.on('connection', (socket: import('node:net').Socket) => {
        const timer = setTimeout(() => {
          if (socket.bytesRead > 0 || socket.destroyed) return;
          metrics.error('request_timeout');
          app.log.warn({ code: 'silent_connection' }, 'HTTP request timed out (slow client)');
          socket.destroy();
        }, silentMs);
        timer.unref();
        const clear = () => clearTimeout(timer);
        socket.once('close', clear);
        watched.set(socket, { timer, clear });
      });
      app.server.on('upgrade', (_request: unknown, socket: import('node:net').Socket) => {
        const watch = watched.get(socket);
        if (!watch) return;
        watched.delete(socket);
        clearTimeout(watch.timer);
        socket.removeListener('close', watch.clear);
      });
    }
    // Slow or broken HTTP clients (request and header timeouts answer 408, bad requests 400) are
    // counted and logged; fastify's own handler answers them.
    app.server.on('clientError', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return; // the client left; nothing to tell
      const code = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_http_request';
      metrics.error(code);
      app.log.warn({ code: error.code }, code === 'request_timeout' ? 'HTTP request timed out (slow client)' : 'malformed HTTP request');
    });
    // Unknown fields are refused, not silently dropped. Query strings and path parameters arrive as
    // text and are coerced to the schema's types; JSON bodies are not: `"content": ["x"]` or
    // `"up_to_seq": "5"` is a wrong type, not something to guess at.
    const ajvOptions = { removeAdditional: false, useDefaults: true, allErrors: false, addUsedSchema: false } as const;
    const coercing = new Ajv({ ...ajvOptions, coerceTypes: 'array' });
    const exact = new Ajv({ ...ajvOptions, coerceTypes: false });
    app.setValidatorCompiler(({ schema, httpPart }) => {
      if (httpPart === 'body') return exact.compile(schema);
      const validate = coercing.compile(schema);
      // Ajv coerces "Infinity" (and 1e400) to an integer and then skips its range checks.
      return (data: unknown) => {
        if (!validate(data)) return { error: validate.errors ?? [] };
        const infinite = data && typeof data === 'object' ? Object.entries(data).find(([, v]) => typeof v === 'number' && !Number.isFinite(v)) : undefined;
        if (infinite) return { error: [{ instancePath: `/${infinite[0]}`, schemaPath: '', keyword: 'type', params: {}, message: 'must be a finite integer' }] };
        return true;
      };
    });
    // JSON bodies must be UTF-8: invalid bytes are refused, not turned into U+FFFD.
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      // An empty body is no body (clients that always send Content-Type): a route that needs one says so.
      if ((body as Buffer).length === 0) {
        done(null, undefined);
        return;
      }
      if (!isUtf8(body as Buffer)) {
        done(new NatterError('invalid_json', 'the body is not valid UTF-8'), undefined);
        return;
      }
      parseJson(request, (body as Buffer).toString('utf8'), done);
    });
    registerErrorHandling(app, metrics.error);
    // Security headers (CSP, nosniff, frame-ancestors, …). The CSP lets the web client at / and Swagger
    // UI at /docs run (scripts and styles from this origin, inline styles, data: images, the socket on
    // this origin); the upgrade to https is left to whoever terminates TLS.
    await app.register(helmet, {
      contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } },
    });
    // CORS is closed unless NATTER_CORS_ORIGINS names origins; with dev tokens on, local dev servers
    // (http://localhost:*, http://127.0.0.1:*) may call the API (dev tokens already let anyone in).
    const origins = config.corsOrigins;
    // A preflight names its origin and method; any other OPTIONS gets the API's error shape (the CORS
    // plugin would answer it in plain text, or as a missing route).
    app.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'OPTIONS' || (request.headers.origin && request.headers['access-control-request-method'])) return;
      metrics.error('invalid_request');
      return reply.status(400).send(errorBody('invalid_request', 'OPTIONS is a CORS preflight: send Origin and Access-Control-Request-Method'));
    });
    await app.register(cors, {
      origin: origins === 'localhost' ? [/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/] : origins.length > 0 ? origins : false,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'range', 'if-range'],
      maxAge: 600,
    });
    app.addHook('preValidation', async (request) => {
      if (hasIllFormedString(request.body)) throw new NatterError('invalid_request', 'strings must be well-formed Unicode (no lone surrogates)');
    });
  },
  { name: 'natter-http-hardening' },
);
