import type { FastifyInstance } from 'fastify';
import { agentOr404, type RuntimeContext } from '../context.ts';
import { clientGone, prepareTurn, runTurn, sendAnswer } from '../conversation.ts';
import { invokeBody, parseOr400, turnOf } from '../schemas.ts';
import { ownerOf } from './sessions.ts';

/** POST /v1/agents/:name/invoke: one answer; with `session_id` the turn joins that conversation. */
export function registerInvokeRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.post<{ Params: { name: string } }>('/v1/agents/:name/invoke', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(invokeBody, req.body);
    const client = clientGone(reply.raw);
    const prepared = await prepareTurn(ctx, agent, turnOf(body, ctx.limits, req.headers, ownerOf(ctx, req)), client);
    return sendAnswer(reply, await runTurn(ctx, prepared, { client }));
  });
}
