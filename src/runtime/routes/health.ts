import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.ts';
import type { RuntimeContext } from '../context.ts';
import { goDuration } from '../wire.ts';

/** GET /healthz: liveness for load balancers and the process adapter; never needs a key. */
export function registerHealthRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.get('/healthz', async () => ({
    status: 'healthy',
    uptime: goDuration(Date.now() - ctx.startedAt),
    agents: ctx.agents.size,
    version: VERSION,
  }));
}
