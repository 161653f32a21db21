import type { FastifyInstance } from 'fastify';
import type { RuntimeContext } from '../context.ts';
import { countSessions } from '../../session/count.ts';

/**
 * GET /v1/agents: what is served. `status` is `running` (the original's word, which its clients
 * know) or `unavailable` with `status_reason` when the model's provider lacks a key.
 */
export function registerAgentRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.get('/v1/agents', async () => {
    const agents = await Promise.all(
      ctx.agents.list().map(async (a) => {
        const problem = a.resolved.provider.problem();
        return {
          name: a.name,
          fqn: a.fqn,
          model: a.model,
          strategy: a.strategy,
          status: problem === undefined ? 'running' : 'unavailable',
          ...(problem === undefined ? {} : { status_reason: problem }),
          skills: a.skills,
          // Counted from the store's index, never by reading every session.
          active_sessions: await countSessions(ctx.store, a.name),
        };
      }),
    );
    return { agents };
  });
}
