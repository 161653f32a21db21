import type { FastifyInstance } from 'fastify';
import { logger } from '../../log.ts';
import { agentOr404, type RuntimeContext } from '../context.ts';
import { clientGone, prepareTurn, runTurn } from '../conversation.ts';
import { toHttpError } from '../errors.ts';
import { invokeBody, parseOr400, turnOf } from '../schemas.ts';
import { openEventStream } from '../sse-response.ts';
import { doneOf } from '../wire.ts';
import { ownerOf } from './sessions.ts';

/**
 * POST /v1/agents/:name/stream: the answer as server-sent events: `text` deltas, then one `done`
 * (tokens, turns, duration_ms, stop_reason, session_id, agent; the output too with
 * `include_output`), or one `error`. Problems found before the model is
 * called (unknown agent or session, bad body) are ordinary JSON errors with their status.
 */
export function registerStreamRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.post<{ Params: { name: string } }>('/v1/agents/:name/stream', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(invokeBody, req.body);
    const client = clientGone(reply.raw);
    const prepared = await prepareTurn(ctx, agent, turnOf(body, ctx.limits, req.headers, ownerOf(ctx, req)), client);

    if (prepared.replay !== undefined) reply.header('idempotent-replayed', 'true');
    const { res, send } = openEventStream(reply);
    try {
      const answer = await runTurn(ctx, prepared, { client, onText: (text) => send('text', { text }) });
      // A replayed answer was never streamed: its whole output is one text event.
      if (answer.replayed && answer.output !== '') send('text', { text: answer.output });
      // Small by default: SDK stream readers cap a line at 64 KiB, and the text events already
      // carried the output.
      send('done', body.include_output === true ? answer.body : doneOf(answer.body));
    } catch (err) {
      const h = toHttpError(err, req.id);
      logger('runtime').warn({ agent: agent.name, status: h.statusCode, error: h.errorCode, message: h.message }, 'stream failed');
      send('error', { ...h.body(), status: h.statusCode });
    } finally {
      res.end();
    }
  });
}
