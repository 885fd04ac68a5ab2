import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import websocket from '@fastify/websocket';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import { Ajv } from 'ajv';
import { isUtf8 } from 'node:buffer';
import { recordRoutes } from './route-table.ts';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { errorBody, registerErrorHandling } from './errors.ts';
import { hasIllFormedString } from '../contracts/well-formed.ts';
import { NatterError } from '../contracts/errors.ts';
import { closeCodes } from '../contracts/close-codes.ts';
import { registerAuth } from './auth.ts';
import { registerDocs } from './docs.ts';
import { registerWeb } from './web.ts';
import { devTokenRoute } from './dev-token-route.ts';
import type { Commands } from '../command-side/commands.ts';
import type { ConnectionRegistry } from '../command-side/gateway/registry.ts';
import { commandRoutes } from '../command-side/http/routes.ts';
import { gatewayRoute } from '../command-side/gateway/ws-route.ts';
import { queryRoutes } from '../query-side/routes.ts';
import type { ReadModels } from '../ports/read-models.ts';
import type { ProjectionRuntime } from '../projections/runtime.ts';
import type { PresenceStore } from '../ports/presence.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Delivery } from '../ports/delivery.ts';
import { createPresence } from '../command-side/gateway/presence.ts';
import { createTyping } from '../command-side/gateway/typing.ts';
import { createGatewayLifecycle, type GatewayLifecycle } from '../command-side/gateway/lifecycle.ts';
import { presenceRoute } from '../query-side/presence-route.ts';

export type AppDeps = {
  config: Config;
  logger: Logger;
  commands: Commands;
  readModels: ReadModels;
  registry: ConnectionRegistry;
  /** Where presence and typing go; the local socket registry unless a cluster delivery is given. */
  delivery?: Delivery;
  /** What sync and read-your-writes wait on: the projections (embedded) or the cluster's low watermark. */
  projections: Pick<ProjectionRuntime, 'position' | 'caughtUp'>;
  presenceStore: PresenceStore;
  limiter: RateLimiter;
  metrics: Metrics;
  /** The event log's head position. */
  logHead(): Promise<number>;
  /** Prometheus exposition for GET /metrics. */
  metricsText(): Promise<{ contentType: string; body: string }>;
  /** More route plugins (push registrations, media, the key directory: app/features.ts), registered after the core API. */
  routes?: Array<(app: FastifyInstance) => Promise<void>>;
};

export type App = { app: FastifyInstance; lifecycle: GatewayLifecycle; stop(): void };

/** The HTTP and WebSocket API over whatever adapters the caller chose; `listen` is the caller's. */
export const buildApp = async (deps: AppDeps): Promise<App> => {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.maxBodyBytes,
    // Per-request logs would dominate a chat server's output; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // The router's own refusals (a path parameter over 100 characters, bad percent-encoding) get the
    // API's error shape instead of fastify's, which echoes the whole URL.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      deps.metrics.error('invalid_request');
      return reply.status(400).send(errorBody('invalid_request', error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed'));
    },
    // Slow clients (slow-loris) are cut off: an idle socket, a request (headers and body) that takes
    // too long, an idle keep-alive connection. Upgraded WebSockets leave these timers behind.
    connectionTimeout: config.http.connectionTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    ...(config.http.requestTimeoutMs > 0 ? { http: {
      headersTimeout: Math.min(60_000, config.http.requestTimeoutMs),
      // Node checks request and header deadlines on this interval (30 s by default).
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(config.http.requestTimeoutMs / 4))),
    } } : {}),
  });
  recordRoutes(app);
  // A connection that never sends a byte escapes Node's header and request timeouts (and, once
  // those are set, its idle timeout too): it is cut off after the connection timeout.
  const silentMs = Math.min(...[config.http.connectionTimeoutMs, config.http.requestTimeoutMs].filter((ms) => ms > 0));
  if (Number.isFinite(silentMs)) {
    app.server.on('connection', (socket: import('node:net').Socket) => {
      const timer = setTimeout(() => {
        if (socket.bytesRead > 0 || socket.destroyed) return;
        deps.metrics.error('request_timeout');
        app.log.warn({ code: 'silent_connection' }, 'HTTP request timed out (slow client)');
        socket.destroy();
      }, silentMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    });
  }
  // Slow or broken HTTP clients (request and header timeouts answer 408, bad requests 400) are
  // counted and logged; fastify's own handler answers them.
  app.server.on('clientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return; // the client left; nothing to tell
    const code = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_http_request';
    deps.metrics.error(code);
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
    if (!isUtf8(body as Buffer)) { done(new NatterError('invalid_json', 'the body is not valid UTF-8'), undefined); return; }
    parseJson(request, (body as Buffer).toString('utf8'), done);
  });
  registerErrorHandling(app, deps.metrics.error);
  // Security headers (CSP, nosniff, frame-ancestors, …). The CSP lets the web client at / and Swagger
  // UI at /docs run (scripts and styles from this origin, inline styles, data: images, the socket on
  // this origin); the upgrade to https is left to whoever terminates TLS.
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } },
  });
  // CORS is closed unless NATTER_CORS_ORIGINS names origins; with dev tokens on, local dev servers
  // (http://localhost:*, http://127.0.0.1:*) may call the API (dev tokens already let anyone in).
  const origins = config.corsOrigins;
  await app.register(cors, {
    origin: origins === 'localhost' ? [/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/] : origins.length > 0 ? origins : false,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'range', 'if-range'],
    maxAge: 600,
  });
  app.addHook('preValidation', async (request) => {
    if (hasIllFormedString(request.body)) throw new NatterError('invalid_request', 'strings must be well-formed Unicode (no lone surrogates)');
  });
  // Before auth: its onRequest hook must see upgrades that auth then refuses, so that their sockets are closed.
  await app.register(websocket, {
    options: { maxPayload: config.maxFrameBytes, skipUTF8Validation: true },
    preClose(done) {
      // 1001 tells clients to reconnect (elsewhere) and sync; the close frames go out before exit.
      for (const client of this.websocketServer.clients) client.close(closeCodes.going_away, 'server shutting down');
      this.websocketServer.close(() => done());
    },
  });
  await registerAuth(app, config);
  // Before the routes, so that the OpenAPI document sees every one of them.
  await registerDocs(app);
  await registerWeb(app);

  const presence = createPresence({
    store: deps.presenceStore, directory: deps.readModels.directory, delivery: deps.delivery ?? deps.registry.delivery, metrics: deps.metrics,
    ttlMs: config.presenceTtlMs, throttleMs: config.presenceThrottleMs, maxGroupMembers: config.presenceMaxGroupMembers,
  });
  const typing = createTyping({ delivery: deps.delivery ?? deps.registry.delivery, ttlMs: config.typingTtlMs, throttleMs: config.typingThrottleMs });
  const lifecycle = createGatewayLifecycle({
    registry: deps.registry, presence, heartbeatIntervalMs: config.heartbeatIntervalMs,
    onHeartbeatError: (error) => app.log.warn({ err: error }, 'heartbeat tick failed'),
  });

  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true } }, async (_request, reply) =>
    lifecycle.isDraining() ? reply.status(503).send({ status: 'draining' }) : { status: 'ready' });
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    const { contentType, body } = await deps.metricsText();
    return reply.type(contentType).send(body);
  });
  await app.register(devTokenRoute, { config });
  await app.register(commandRoutes, { commands: deps.commands, caughtUp: (position: number) => deps.projections.caughtUp(position), onAck: deps.metrics.ack });
  await app.register(queryRoutes, { readModels: deps.readModels, appliedPosition: () => deps.projections.position() });
  await app.register(presenceRoute, { presence });
  await app.register(gatewayRoute, {
    commands: deps.commands,
    registry: deps.registry,
    presence,
    typing,
    limiter: deps.limiter,
    ephemeralLimit: { capacity: config.ephemeralPerSecond * 2, perSecond: config.ephemeralPerSecond },
    metrics: deps.metrics,
    stores: { history: deps.readModels.history, inbox: deps.readModels.inbox },
    appliedPosition: () => deps.projections.position(),
    caughtUp: (position: number) => deps.projections.caughtUp(position),
    logHead: deps.logHead,
    isDraining: lifecycle.isDraining,
    limits: { maxBufferBytes: config.maxSocketBufferBytes, maxHeldFrames: 10_000, maxSocketsPerUser: config.maxSocketsPerUser },
    ...(deps.presenceStore.sessionsOf ? { countSockets: (userId: string) => deps.presenceStore.sessionsOf!(userId, Date.now()) } : {}),
  });
  for (const routes of deps.routes ?? []) await app.register(routes);
  return { app, lifecycle, stop: () => { lifecycle.stop(); typing.stop(); presence.stop(); } };
};
