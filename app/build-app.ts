import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { registerErrorHandling } from './errors.ts';
import { hasIllFormedString } from '../contracts/well-formed.ts';
import { NatterError } from '../contracts/errors.ts';
import { closeCodes } from '../contracts/close-codes.ts';
import { registerAuth } from './auth.ts';
import { devTokenRoute } from './dev-token-route.ts';
import type { Commands } from '../command-side/commands.ts';
import type { ConnectionRegistry } from '../command-side/gateway/registry.ts';
import { commandRoutes } from '../command-side/http/routes.ts';
import { gatewayRoute } from '../command-side/gateway/ws-route.ts';
import { queryRoutes } from '../query-side/routes.ts';
import type { ReadModels } from '../ports/read-models.ts';
import type { ProjectionRuntime } from '../projections/runtime.ts';

export type AppDeps = {
  config: Config;
  logger: Logger;
  commands: Commands;
  readModels: ReadModels;
  registry: ConnectionRegistry;
  projections: ProjectionRuntime;
};

/** The HTTP and WebSocket API over whatever adapters the caller chose; `listen` is the caller's. */
export const buildApp = async (deps: AppDeps): Promise<FastifyInstance> => {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.maxBodyBytes,
    // Per-request logs would dominate a chat server's output; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Unknown fields are refused, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  registerErrorHandling(app);
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

  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  await app.register(devTokenRoute, { config });
  await app.register(commandRoutes, { commands: deps.commands, caughtUp: (position: number) => deps.projections.caughtUp(position) });
  await app.register(queryRoutes, { readModels: deps.readModels, appliedPosition: () => deps.projections.position() });
  await app.register(gatewayRoute, {
    commands: deps.commands,
    registry: deps.registry,
    stores: { history: deps.readModels.history, inbox: deps.readModels.inbox },
    appliedPosition: () => deps.projections.position(),
    limits: { maxBufferBytes: config.maxSocketBufferBytes, maxHeldFrames: 10_000 },
  });
  return app;
};
