import type { FastifyInstance, FastifyReply } from 'fastify';

export type OpsDeps = {
  isDraining(): boolean;
  /** Why this process cannot serve any more (a dead event-store writer), if it cannot: it is about to exit. */
  failure?(): string | null;
  /** Prometheus exposition (per process: scrape every gateway). */
  metricsText(): Promise<{ contentType: string; body: string }>;
};

/** Liveness, readiness and metrics: public, for load balancers, supervisors and Prometheus. */
export const opsRoutes = async (app: FastifyInstance, deps: OpsDeps) => {
  const failed = (reply: FastifyReply) => {
    const reason = deps.failure?.() ?? null;
    return reason === null ? null : reply.status(503).send({ status: 'failed', reason });
  };
  app.get('/healthz', { config: { public: true } }, async (_request, reply) => failed(reply) ?? { status: 'ok' });
  app.get('/readyz', { config: { public: true } }, async (_request, reply) =>
    failed(reply) ?? (deps.isDraining() ? reply.status(503).send({ status: 'draining' }) : { status: 'ready' }));
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    const { contentType, body } = await deps.metricsText();
    return reply.type(contentType).send(body);
  });
};
