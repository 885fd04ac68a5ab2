import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { recordRoutes } from '../http/route-table.ts';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { httpHardening, httpServerOptions } from '../http/hardening.ts';
import { opsRoutes } from '../http/ops-routes.ts';
import { closeCodes } from '../contracts/close-codes.ts';
import { registerAuth } from '../http/auth.ts';
import { registerDocs } from '../http/docs.ts';
import { registerWeb } from '../http/web.ts';
import { devTokenRoute } from '../http/dev-token-route.ts';
import type { Commands } from '../command-side/commands.ts';
import type { ConnectionRegistry } from '../gateway/registry.ts';
import { commandRoutes } from '../command-side/routes.ts';
import { gatewayRoute } from '../gateway/ws-route.ts';
import { queryRoutes } from '../query-side/routes.ts';
import { toMessage } from '../query-side/messages.ts';
import type { ReadModels } from '../ports/read-models.ts';
import type { ProjectionRuntime } from '../ports/projector.ts';
import type { PresenceStore } from '../ports/presence.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Delivery } from '../ports/delivery.ts';
import type { Tracing } from '../ports/tracing.ts';
import { createPresence } from '../gateway/presence.ts';
import { createTyping } from '../gateway/typing.ts';
import { createGatewayLifecycle, type GatewayLifecycle } from '../gateway/lifecycle.ts';
import { presenceRoute } from '../gateway/presence-route.ts';

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
  /** Why the process cannot serve any more, if it cannot (/healthz and /readyz then answer 503). */
  failure?(): string | null;
  /** More route plugins (the features: features/wire.ts), registered after the core API. */
  routes?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Tracing (ports/tracing.ts); none by default. */
  tracing?: Tracing;
};

export type App = { app: FastifyInstance; lifecycle: GatewayLifecycle; stop(): void };

/** How long shutdown waits for devices to answer their 1001 close before it cuts their sockets. */
const SHUTDOWN_CLOSE_WAIT_MS = 5_000;

/** The HTTP and WebSocket API over whatever adapters the caller chose; `listen` is the caller's. */
export const buildApp = async (deps: AppDeps): Promise<App> => {
  const { config } = deps;
  const app = Fastify(httpServerOptions(config, deps.metrics, deps.logger as FastifyBaseLogger));
  recordRoutes(app);
  await app.register(httpHardening, { config, metrics: deps.metrics });
  // Before auth: its onRequest hook must see upgrades that auth then refuses, so that their sockets are closed.
  await app.register(websocket, {
    // The registry already holds every socket: ws' own set of clients would cost each idle socket
    // another entry, listener and closure (about 140 bytes).
    options: { maxPayload: config.maxFrameBytes, skipUTF8Validation: true, clientTracking: false },
    async preClose(this: FastifyInstance) {
      // First no new sockets: an upgrade still in its hooks is answered 503 instead of registering
      // after the snapshot below, where nothing would close it.
      const stopped = new Promise((resolve) => this.websocketServer.close(resolve));
      // 1001 tells clients to reconnect (elsewhere) and sync; the close frames go out before exit.
      // A client that does not answer its close within the bound is cut, so shutdown cannot hang on it.
      const sockets = [...deps.registry.all()].map((connection) => connection.socket);
      const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
      for (const socket of sockets) socket.close(closeCodes.going_away, 'server shutting down');
      const bound = setTimeout(() => {
        for (const socket of sockets) socket.terminate();
      }, SHUTDOWN_CLOSE_WAIT_MS);
      await Promise.all(closed);
      clearTimeout(bound);
      await stopped;
    },
  });
  const verifyToken = await registerAuth(app, config, { isErased: (userId) => deps.readModels.users.isErased(userId) });
  // Before the routes, so that the OpenAPI document sees every one of them.
  await registerDocs(app);
  await registerWeb(app);

  const presence = createPresence({
    store: deps.presenceStore,
    directory: deps.readModels.directory,
    users: deps.readModels.users,
    delivery: deps.delivery ?? deps.registry.delivery,
    metrics: deps.metrics,
    ttlMs: config.presenceTtlMs,
    throttleMs: config.presenceThrottleMs,
    maxGroupMembers: config.presenceMaxGroupMembers,
  });
  const typing = createTyping({ delivery: deps.delivery ?? deps.registry.delivery, ttlMs: config.typingTtlMs, throttleMs: config.typingThrottleMs });
  const lifecycle = createGatewayLifecycle({
    registry: deps.registry,
    presence,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    onHeartbeatError: (error) => app.log.warn({ err: error }, 'heartbeat tick failed'),
  });

  await app.register(opsRoutes, { isDraining: lifecycle.isDraining, metricsText: deps.metricsText, ...(deps.failure ? { failure: deps.failure } : {}) });
  await app.register(devTokenRoute, { config });
  await app.register(commandRoutes, {
    commands: deps.commands,
    caughtUp: (position: number) => deps.projections.caughtUp(position),
    onAck: deps.metrics.ack,
    message: async (conversationId: string, seq: number) => {
      const [row] = await deps.readModels.history.page(conversationId, { after: seq - 1, before: seq + 1, limit: 1 });
      return row ? toMessage(row) : null;
    },
  });
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
    stores: { history: deps.readModels.history, inbox: deps.readModels.inbox, users: deps.readModels.users },
    appliedPosition: () => deps.projections.position(),
    caughtUp: (position: number) => deps.projections.caughtUp(position),
    logHead: deps.logHead,
    isDraining: lifecycle.isDraining,
    tokens: { verify: verifyToken, expiringNoticeMs: config.tokens.expiringNoticeMs },
    limits: {
      maxBufferBytes: config.maxSocketBufferBytes,
      slowConsumerGraceMs: config.slowConsumerGraceMs,
      connectHoldMs: config.connectHoldMs,
      maxHeldFrames: 10_000,
      maxSocketsPerUser: config.maxSocketsPerUser,
    },
    ...(deps.tracing ? { tracing: deps.tracing } : {}),
    ...(deps.presenceStore.sessionsOf ? { countSockets: (userId: string) => deps.presenceStore.sessionsOf!(userId, Date.now()) } : {}),
  });
  for (const routes of deps.routes ?? []) await app.register(routes);
  return {
    app,
    lifecycle,
    stop: () => {
      lifecycle.stop();
      typing.stop();
      presence.stop();
    },
  };
};
