import type { FastifyInstance } from 'fastify';

export type OpsDeps = {
  isDraining(): boolean;
  /** Prometheus exposition (per process: scrape every gateway). */
  metricsText(): Promise<{ contentType: string; body: string }>;
};

/** Liveness, readiness and metrics: public, for load balancers, supervisors and Prometheus. */
export const opsRoutes = async (app: FastifyInstance, deps: OpsDeps) => {
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true } }, async (_request, reply) =>
    deps.isDraining() ? reply.status(503).send({ status: 'draining' }) : { status: 'ready' });
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    const { contentType, body } = await deps.metricsText();
    return reply.type(contentType).send(body);
  });
};
