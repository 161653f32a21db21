import type { FastifyInstance } from 'fastify';
import type { RuntimeMetrics } from '../metrics.ts';

/**
 * GET /metrics: Prometheus text exposition. Registered beside the /v1 routes, so it needs an API
 * key exactly when they do (session counts and traffic are the operator's business).
 */
export function registerMetricsRoutes(app: FastifyInstance, metrics: RuntimeMetrics): void {
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}
