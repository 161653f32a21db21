import type { FastifyInstance, FastifyRequest } from 'fastify';
import { keyIdOf } from '../auth.ts';
import { agentOr404, type RuntimeContext } from '../context.ts';
import { clientGone, findSession, prepareTurn, runTurn, sendAnswer, sessionOf } from '../conversation.ts';
import { checkMetadata, createSessionBody, historyPage, historyQuery, parseOr400, sessionMessageBody, turnOf } from '../schemas.ts';

interface SessionParams {
  name: string;
  id: string;
}

/** The owner a session created or used by `req` is bound to, when sessions are bound to keys. */
export function ownerOf(ctx: RuntimeContext, req: FastifyRequest): string | undefined {
  return ctx.bindSessions ? keyIdOf(req) : undefined;
}

/** Conversations: create, send a message, read the history, delete. A session belongs to its agent. */
export function registerSessionRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.post<{ Params: { name: string } }>('/v1/agents/:name/sessions', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(createSessionBody, req.body);
    const metadata = body.metadata ?? {};
    checkMetadata(metadata, ctx.limits);
    const owner = ownerOf(ctx, req);
    const info = await ctx.store.create(agent.name, metadata, owner === undefined ? {} : { owner });
    return reply.code(201).send({ session_id: info.id, agent: info.agent, created_at: info.created_at });
  });

  app.post<{ Params: SessionParams }>('/v1/agents/:name/sessions/:id', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(sessionMessageBody, req.body);
    const client = clientGone(reply.raw);
    const prepared = await prepareTurn(ctx, agent, turnOf(body, ctx.limits, req.headers, ownerOf(ctx, req), req.params.id), client);
    return sendAnswer(reply, await runTurn(ctx, prepared, { client }));
  });

  app.get<{ Params: SessionParams; Querystring: Record<string, unknown> }>('/v1/agents/:name/sessions/:id', async (req) => {
    const agent = agentOr404(ctx, req.params.name);
    const page = historyPage(parseOr400(historyQuery, req.query, 'query'), ctx.limits);
    await sessionOf(ctx, agent, req.params.id, ownerOf(ctx, req));
    const loaded = await ctx.store.loadMessages(req.params.id, page);
    return { session_id: req.params.id, agent: agent.name, messages: loaded.messages, total: loaded.total };
  });

  // Idempotent, as the original was: a session that is gone (or never was, from this caller's
  // point of view) is already deleted. Someone else's session is left alone all the same.
  app.delete<{ Params: SessionParams }>('/v1/agents/:name/sessions/:id', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const info = await findSession(ctx, agent, req.params.id, ownerOf(ctx, req));
    if (info !== null) await ctx.store.delete(info.id);
    return reply.code(204).send();
  });
}
