import type { FastifyInstance } from 'fastify';
import { agentOr404, type RuntimeContext } from '../context.ts';
import { clientGoneSignal, prepareTurn, runTurn, sessionOf } from '../conversation.ts';
import { notFound } from '../errors.ts';
import { createSessionBody, historyQuery, parseOr400, sessionMessageBody } from '../schemas.ts';
import { answerBody } from '../wire.ts';

interface SessionParams {
  name: string;
  id: string;
}

/** Conversations: create, send a message, read the history, delete. A session belongs to its agent. */
export function registerSessionRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.post<{ Params: { name: string } }>('/v1/agents/:name/sessions', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(createSessionBody, req.body);
    const info = await ctx.store.create(agent.name, body.metadata ?? {});
    return reply.code(201).send({ session_id: info.id, agent: info.agent, created_at: info.created_at });
  });

  app.post<{ Params: SessionParams }>('/v1/agents/:name/sessions/:id', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(sessionMessageBody, req.body);
    const prepared = await prepareTurn(ctx, agent, {
      message: body.message,
      variables: body.variables ?? {},
      sessionId: req.params.id,
      savePartial: body.save_partial === true,
    });
    const r = await runTurn(ctx, prepared, { signal: clientGoneSignal(reply.raw) });
    return answerBody(r, req.params.id);
  });

  app.get<{ Params: SessionParams; Querystring: Record<string, unknown> }>('/v1/agents/:name/sessions/:id', async (req) => {
    const agent = agentOr404(ctx, req.params.name);
    const q = parseOr400(historyQuery, req.query, 'query');
    await sessionOf(ctx, agent, req.params.id);
    const page = await ctx.store.loadMessages(req.params.id, {
      ...(q.offset === undefined ? {} : { offset: q.offset }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
    });
    return { session_id: req.params.id, agent: agent.name, messages: page.messages, total: page.total };
  });

  app.delete<{ Params: SessionParams }>('/v1/agents/:name/sessions/:id', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    await sessionOf(ctx, agent, req.params.id);
    if (!(await ctx.store.delete(req.params.id))) throw notFound(`session ${req.params.id} not found for agent "${agent.name}"`);
    return reply.code(204).send();
  });
}
