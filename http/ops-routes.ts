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
  const Status = (description: string) => ({
    description,
    type: 'object',
    properties: { status: { type: 'string' }, reason: { type: 'string' } },
    required: ['status'],
  });
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: { operationId: 'getHealth', summary: 'Liveness', response: { 200: Status('Alive'), 503: Status('Cannot serve any more (it is about to exit)') } },
    },
    async (_request, reply) => failed(reply) ?? { status: 'ok' },
  );
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: false while draining',
        response: { 200: Status('Ready'), 503: Status('Draining or failed') },
      },
    },
    async (_request, reply) => failed(reply) ?? (deps.isDraining() ? reply.status(503).send({ status: 'draining' }) : { status: 'ready' }),
  );
  app.get(
    '/metrics',
    {
      config: { public: true },
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics of this process',
        response: { 200: { description: 'The Prometheus text exposition format', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await deps.metricsText();
      return reply.type(contentType).send(body);
    },
  );
};
